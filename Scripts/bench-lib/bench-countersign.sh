# Sourced by Scripts/bench: a Countersign configuration for the benchmark.
#
# bench_countersign_config FILE STORE RADIUS_PORT HTTP_PORT SECRET
#
# The same secret and users as FreeRADIUS (see bench-freeradius.sh); two clients told apart by source address:
#   totp-only (127.0.0.1): mode "second-factor-only", User-Password is the code (FreeRADIUS's "totp-only");
#   password  (127.0.0.2): mode "auto", User-Password is "password,123456" (FreeRADIUS's "password").
# Both require Message-Authenticator, as FreeRADIUS's clients do. Log level "warning": no line per request
# (FreeRADIUS runs with auth logging off). Lockout is set as loose as it goes (1000 failures within 1 s) so a
# stray wrong code at a step boundary cannot lock a user and turn the rest of a run into rejects. The client's
# failure bucket is off (client_failure_burst = 0): an attempt holds a token while it is decided, so with the
# default burst of 100 the generator's 256 logins in flight get Access-Rejects (README, brute-force protection),
# as FreeRADIUS would refuse requests past a max_requests the bench raises for the same reason.
# Everything else is the default: the password hash cost, drift_steps = 1, duplicate_window = 30.
bench_countersign_config() {
    local file=$1 store=$2 radius_port=$3 http_port=$4 secret=$5
    # It holds the shared secret: readable by its owner only (countersign warns otherwise).
    : >"$file"
    chmod 600 "$file"
    cat >"$file" <<CONF
# Written by Scripts/bench.
[store]
path = "$store"

[radius]
listen = ["127.0.0.1:$radius_port"]
client_failure_burst = 0

[[radius.clients]]
name = "totp-only"
address = "127.0.0.1/32"
secret = "$secret"
require_message_authenticator = true
mode = "second-factor-only"

[[radius.clients]]
name = "password"
address = "127.0.0.2/32"
secret = "$secret"
require_message_authenticator = true
mode = "auto"

[lockout]
max_failures = 1000
window = 1
duration = 1

[log]
level = "warning"

[http]
listen = "127.0.0.1:$http_port"
public_url = "http://127.0.0.1:$http_port"
CONF
}
