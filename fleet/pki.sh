#!/usr/bin/env bash
# The study's certificate authority: the relay's certificate and each home's, with openssl only (docs/fleet.md).
#
#   pki.sh init DIR                      the study CA (DIR/ca.crt; its key in DIR/private/, mode 0600)
#   pki.sh server DIR NAME [SAN...]      the relay's certificate, e.g. DNS:relay.example IP:127.0.0.1
#   pki.sh home DIR NAME [DAYS]          a home's client certificate and key (DIR/homes/NAME.{crt,key})
#                                        DAYS defaults to 825; DAYS "expired": one that expired yesterday (tests)
#   pki.sh revoke DIR NAME               revoke a home's current certificate and regenerate the CRL
#   pki.sh crl DIR                       regenerate DIR/crl.pem (valid CRL_DAYS days: regenerate it before then)
#
# EC P-256 keys, SHA-256 signatures. `openssl ca` keeps the database (index.txt) that revocation needs.
set -euo pipefail
umask 077

CA_DAYS=3650
SERVER_DAYS=825
HOME_DAYS=825
CRL_DAYS=${CRL_DAYS:-30}
# openssl expands ${ENV::FLEET_SAN} whenever it reads openssl.cnf; only `server` gives it a real value.
export FLEET_SAN=DNS:unused

die() { echo "pki.sh: $*" >&2; exit 1; }

check_name() {
    [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "name '$1': letters, digits, '-' and '_' only"
}

check_ca() {
    [[ -f $1/ca.crt && -f $1/openssl.cnf ]] || die "$1 is not a CA folder: run 'pki.sh init $1' first"
}

new_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
    chmod 0600 "$1"
}

write_config() {
    cat > "$1/openssl.cnf" <<EOF
# Written by fleet/pki.sh init; the study CA's database is index.txt beside it.
[ ca ]
default_ca = study_ca

[ study_ca ]
dir = $1
database = \$dir/index.txt
new_certs_dir = \$dir/issued
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.crt
private_key = \$dir/private/ca.key
default_md = sha256
default_days = $HOME_DAYS
default_crl_days = $CRL_DAYS
policy = policy_name
# A home's certificate can be renewed under the same name before the old one is revoked.
unique_subject = no
copy_extensions = none

[ policy_name ]
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = unused

[ ca_ext ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ server_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \${ENV::FLEET_SAN}

[ home_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# Sign DIR/NAME.csr into DIR/NAME.crt with the extensions EXT; the remaining arguments go to `openssl ca`.
sign() {
    local ca=$1 base=$2 ext=$3
    shift 3
    openssl ca -batch -notext -config "$ca/openssl.cnf" -extensions "$ext" \
        -in "$base.csr" -out "$base.crt" "$@" 2>"$base.log" || { cat "$base.log" >&2; die "signing $base failed"; }
    rm -f "$base.csr" "$base.log"
    chmod 0644 "$base.crt"
}

cmd_init() {
    local dir
    [[ $# -eq 1 ]] || die "usage: pki.sh init DIR"
    mkdir -p "$1"
    dir=$(cd "$1" && pwd)
    [[ ! -e $dir/ca.crt ]] || die "$dir already holds a CA"
    mkdir -p "$dir/private" "$dir/issued" "$dir/homes" "$dir/servers"
    # stunnel (user stunnel4) reads ca.crt, crl.pem and servers/; the CA key and the homes' keys stay private.
    chmod 0755 "$dir" "$dir/servers"
    : > "$dir/index.txt"
    echo 1000 > "$dir/serial"
    echo 1000 > "$dir/crlnumber"
    write_config "$dir"
    new_key "$dir/private/ca.key"
    openssl req -new -x509 -config "$dir/openssl.cnf" -key "$dir/private/ca.key" -sha256 -days "$CA_DAYS" \
        -subj "/CN=Study CA $(basename "$dir")" -extensions ca_ext -out "$dir/ca.crt"
    chmod 0644 "$dir/ca.crt"
    cmd_crl "$dir"
    echo "CA: $dir/ca.crt"
}

cmd_server() {
    [[ $# -ge 2 ]] || die "usage: pki.sh server DIR NAME [SAN...]"
    local dir=$1 name=$2 san
    shift 2
    check_ca "$dir"; check_name "$name"
    san=$(IFS=,; echo "${*:-DNS:$name}")
    new_key "$dir/servers/$name.key"
    openssl req -new -config "$dir/openssl.cnf" -key "$dir/servers/$name.key" -subj "/CN=$name" \
        -out "$dir/servers/$name.csr"
    FLEET_SAN=$san sign "$dir" "$dir/servers/$name" server_ext -days "$SERVER_DAYS"
    echo "server: $dir/servers/$name.crt ($san)"
}

cmd_home() {
    [[ $# -ge 2 && $# -le 3 ]] || die "usage: pki.sh home DIR NAME [DAYS|expired]"
    local dir=$1 name=$2 days=${3:-$HOME_DAYS} validity
    check_ca "$dir"; check_name "$name"
    if [[ $days == expired ]]; then
        validity=(-startdate "$(date -u -d '2 days ago' +%Y%m%d%H%M%SZ)"
                  -enddate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)")
    else
        [[ $days =~ ^[1-9][0-9]*$ ]] || die "DAYS '$days': a whole number of days, or 'expired'"
        validity=(-days "$days")
    fi
    new_key "$dir/homes/$name.key"
    openssl req -new -config "$dir/openssl.cnf" -key "$dir/homes/$name.key" -subj "/CN=$name" \
        -out "$dir/homes/$name.csr"
    sign "$dir" "$dir/homes/$name" home_ext "${validity[@]}"
    echo "home: $dir/homes/$name.crt and $dir/homes/$name.key"
}

cmd_revoke() {
    [[ $# -eq 2 ]] || die "usage: pki.sh revoke DIR NAME"
    local dir=$1 name=$2
    check_ca "$dir"; check_name "$name"
    [[ -f $dir/homes/$name.crt ]] || die "no certificate for home '$name' in $dir/homes"
    openssl ca -config "$dir/openssl.cnf" -revoke "$dir/homes/$name.crt" 2>"$dir/revoke.log" \
        || { cat "$dir/revoke.log" >&2; rm -f "$dir/revoke.log"; die "revoking $name failed"; }
    rm -f "$dir/revoke.log"
    cmd_crl "$dir"
    echo "revoked: $name (serial $(openssl x509 -in "$dir/homes/$name.crt" -noout -serial | cut -d= -f2));" \
         "reload stunnel so that it reads the new CRL"
}

cmd_crl() {
    [[ $# -eq 1 ]] || die "usage: pki.sh crl DIR"
    check_ca "$1"
    # Written beside and renamed: stunnel may read the file at any moment.
    openssl ca -config "$1/openssl.cnf" -gencrl -crldays "$CRL_DAYS" -out "$1/crl.pem.new" 2>/dev/null
    chmod 0644 "$1/crl.pem.new"
    mv -f "$1/crl.pem.new" "$1/crl.pem"
}

[[ $# -ge 1 ]] || die "usage: pki.sh init|server|home|revoke|crl DIR ..."
command=$1
shift
case $command in
    init|server|home|revoke|crl) "cmd_$command" "$@" ;;
    *) die "unknown command '$command': init, server, home, revoke or crl" ;;
esac
