# Sourced by Scripts/bench: a self-contained FreeRADIUS 3.2 configuration in a folder of its own.
#
# bench_freeradius_config DIR PORT SECRET USERS_FILE
#
# Two virtual servers on one listener (127.0.0.1:PORT), chosen by the client's source address:
#   totp-only  (client 127.0.0.1): User-Password is the 6-digit code, checked by rlm_totp (Debian's
#              sites-available/totp without the password part) — what Countersign's "second-factor-only" does;
#   password   (client 127.0.0.2): User-Password is "password,123456": split as sites-available/totp does,
#              totp.authenticate, then pap against the users file's Cleartext-Password — Countersign's "auto".
# Both answer Status-Server (security.status_server = yes; Autz-Type Status-Server).
#
# Tuned as an administrator would for a benchmark on a small machine, and nothing else:
#   - log auth = no (no line per request; Countersign runs at log level "warning" for the same reason);
#   - reject_delay = 0 (the default 1 s delay would turn each wrong code into a 1 s wait);
#   - thread pool: Debian's defaults (start 5, max 32 threads). rlm_totp and rlm_files are CPU-bound and
#     never block, so on 2 cores more threads would only queue; the defaults already allow more than enough;
#   - max_requests = 262144: FreeRADIUS keeps each answered request for cleanup_delay (5 s, its duplicate
#     detection, like Countersign's duplicate_window) and drops new ones beyond max_requests; the default
#     16384 would drop requests above ~3,000/s;
#   - recv_buff = 4194304: the 4 MiB UDP receive buffer Countersign asks for on its sockets (both capped by
#     net.core.rmem_max), so that neither drops a burst the other would have queued.
# The users file is read by rlm_files into a hash table at start-up (one line per user: TOTP-Secret, and
# Cleartext-Password for the password users).
bench_freeradius_config() {
    local dir=$1 port=$2 secret=$3 users=$4
    mkdir -p "$dir/log" "$dir/run"
    cp "$users" "$dir/users"
    # FreeRADIUS reads its own dictionaries from /usr/share/freeradius, then $confdir/dictionary.
    printf '# Local additions to /usr/share/freeradius/dictionary: none.\n' >"$dir/dictionary"
    cat >"$dir/radiusd.conf" <<CONF
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = $dir/log
raddbdir = $dir
radacctdir = \${logdir}/radacct
name = freeradius
confdir = \${raddbdir}
modconfdir = \${confdir}/mods-config
run_dir = $dir/run
db_dir = \${raddbdir}
libdir = /usr/lib/freeradius
pidfile = \${run_dir}/\${name}.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 262144
hostname_lookups = no

log {
	destination = files
	colourise = no
	file = \${logdir}/radius.log
	stripped_names = no
	auth = no
	auth_badpass = no
	auth_goodpass = no
}

security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}

proxy_requests = no

thread pool {
	start_servers = 5
	max_servers = 32
	min_spare_servers = 3
	max_spare_servers = 10
	max_requests_per_server = 0
	max_queue_size = 65536
	auto_limit_acct = no
}

client totp-only {
	ipaddr = 127.0.0.1
	secret = $secret
	require_message_authenticator = yes
	virtual_server = totp-only
}

client password {
	ipaddr = 127.0.0.2
	secret = $secret
	require_message_authenticator = yes
	virtual_server = password
}

modules {
	files {
		filename = \${confdir}/users
	}
	# rlm_totp takes no configuration (3.2.1): it reads &control:TOTP-Secret and &request:TOTP-Password.
	totp {
	}
	pap {
		normalise = yes
	}
	# "ok" and "reject" in the sections below are rlm_always instances, as in Debian's mods-enabled/always.
	always ok {
		rcode = ok
	}
	always reject {
		rcode = reject
	}
}

instantiate {
}

server totp-only {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = $port
		recv_buff = 4194304
	}

	authorize {
		Autz-Type Status-Server {
			ok
		}
		if (!&User-Password) {
			reject
		}
		files
		update request {
			&TOTP-Password := &User-Password
		}
		totp.authenticate
		if (ok) {
			update control {
				&Auth-Type := Accept
			}
		}
		else {
			reject
		}
	}

	authenticate {
	}
}

server password {
	authorize {
		Autz-Type Status-Server {
			ok
		}
		if (!&User-Password) {
			reject
		}
		# As Debian's sites-available/totp: the code is the last 6 digits, after the delimiter.
		if (&User-Password !~ /^(.*),([0-9]{6})\$/) {
			reject
		}
		update request {
			&User-Password := "%{1}"
			&TOTP-Password := "%{2}"
		}
		files
		totp.authenticate
		if (!ok) {
			reject
		}
		pap
	}

	authenticate {
		Auth-Type PAP {
			pap
		}
	}
}
CONF
}
