#!/usr/bin/python3
"""Makes the benchmark's users: the same names, passwords and TOTP seeds for Countersign (CSV for
`countersign user import`) and FreeRADIUS (a users file for rlm_files).

    bench-users.py DIR --users N [--prefix u] [--password-users M] [--every K]

Writes DIR/users.csv (header username,password,totp_secret; password empty: second-factor-only users named
u0000001...), DIR/users-password.csv (M users p0000001... with random passwords, for password + code) and
DIR/freeradius-users (both sets, TOTP-Secret and, for the password users, Cleartext-Password). With --every K
it also writes DIR/users-active.csv: every K-th TOTP user, spread over the whole store.
Seeds are 20 random bytes (RFC 4226's recommended length), base32 without padding, upper case.
"""
import argparse
import base64
import os
import secrets


def seed():
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--password-users", type=int, default=0)
    parser.add_argument("--every", type=int, default=0)
    parser.add_argument("--no-freeradius", action="store_true")
    args = parser.parse_args()
    header = "username,password,totp_secret\n"
    fr = None if args.no_freeradius else open(os.path.join(args.dir, "freeradius-users"), "w")
    active = open(os.path.join(args.dir, "users-active.csv"), "w") if args.every else None
    if active:
        active.write(header)
    with open(os.path.join(args.dir, "users.csv"), "w") as out:
        out.write(header)
        lines = []
        for i in range(1, args.users + 1):
            name, secret = "u%07d" % i, seed()
            line = "%s,,%s\n" % (name, secret)
            lines.append(line)
            if active and i % args.every == 0:
                active.write(line)
            if fr:
                fr.write('%s TOTP-Secret := "%s"\n' % (name, secret))
            if len(lines) >= 10000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))
    if active:
        active.close()
    with open(os.path.join(args.dir, "users-password.csv"), "w") as out:
        out.write(header)
        for i in range(1, args.password_users + 1):
            # token_urlsafe: letters, digits, "-" and "_"; no comma, quote or backslash to escape anywhere.
            name, password, secret = "p%07d" % i, secrets.token_urlsafe(12), seed()
            out.write("%s,%s,%s\n" % (name, password, secret))
            if fr:
                fr.write('%s Cleartext-Password := "%s", TOTP-Secret := "%s"\n' % (name, password, secret))
    if fr:
        fr.close()


if __name__ == "__main__":
    main()
