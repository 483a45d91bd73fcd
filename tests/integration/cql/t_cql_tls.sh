# TLS to Cassandra (issue 12, finding 9): the test server speaks TLS with a
# certificate from a test CA made here with the openssl CLI. A good
# certificate connects and the pipeline works, by name and by IP address; an
# untrusted certificate, a certificate for another name, a plain-text server
# and a plain-text client are refused with an error naming the host.
source "$(dirname "$0")/../lib.sh" "$@"
source "$(dirname "$0")/cqlsrv.sh"
command -v openssl >/dev/null || { echo "t_cql_tls: skipped: no openssl CLI" >&2; exit 77; }
# certs: a CA, a server certificate for localhost and 127.0.0.1, one for another name, and a
# self-signed one nobody trusts
C=$WORK/certs
mkdir -p "$C"
ossl() { openssl "$@" >>"$C/openssl.log" 2>&1 || { echo "openssl $1 failed: $(tail -3 "$C/openssl.log")" >&2; exit 1; }; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$C/ca.key" -out "$C/ca.pem" -days 2 -subj /CN=jobads-test-ca
leaf() { # NAME SUBJECT_ALT_NAMES
    ossl req -newkey rsa:2048 -nodes -keyout "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$1"
    printf 'subjectAltName=%s\n' "$2" >"$C/$1.ext"
    ossl x509 -req -in "$C/$1.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial \
        -out "$C/$1.pem" -days 2 -extfile "$C/$1.ext"
}
leaf good "DNS:localhost,IP:127.0.0.1"
leaf other "DNS:other.example"
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$C/self.key" -out "$C/self.pem" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
AN="sqlite:$WORK/an.db"

start_srv good --tls-cert "$C/good.pem" "$C/good.key"
EV="cassandra://localhost:$PORT/jt_tls?settle=0&bucket=1&tls=1&ca=$C/ca.pem"
assert_status "a trusted certificate, by name" 0 jobads generate --count 300 --seed 1 --quiet --events "$EV"
assert_status "the ETL over TLS" 0 jobads etl --quiet --events "$EV" --analytics "$AN"
assert_eq "every event read" 300 "$(sq "$WORK/an.db" 'SELECT SUM(records) FROM fact_hourly')"
assert_status "verify over TLS" 0 jobads verify --events "$EV" --analytics "$AN"
assert_status "by IP address (in the certificate's subjectAltName)" 0 jobads etl --quiet \
    --events "cassandra://127.0.0.1:$PORT/jt_tls?settle=0&bucket=1&ca=$C/ca.pem" --analytics "$AN"
assert_status "a plain-text client at a TLS server" 1 jobads etl --quiet \
    --events "cassandra://127.0.0.1:$PORT/jt_tls?settle=0&bucket=1&connect_timeout=2&request_timeout=2" --analytics "$AN"
assert_grep "is refused, naming the host" "127\.0\.0\.1:$PORT" "$WORK/last.err"
assert_status "no CA given: the system's CAs do not know the test CA" 1 jobads etl --quiet \
    --events "cassandra://localhost:$PORT/jt_tls?tls=1" --analytics "$AN"
assert_grep "says the certificate is refused" "localhost:$PORT: TLS: the server's certificate is refused: unable to get local issuer certificate" "$WORK/last.err"

start_srv self --tls-cert "$C/self.pem" "$C/self.key"
assert_status "an untrusted certificate" 1 jobads etl --quiet \
    --events "cassandra://localhost:$PORT/jt_tls?tls=1&ca=$C/ca.pem" --analytics "$AN"
assert_grep "is refused, naming the host" "localhost:$PORT: TLS: the server's certificate is refused: self.signed certificate" "$WORK/last.err"

start_srv other --tls-cert "$C/other.pem" "$C/other.key"
assert_status "a certificate for another name" 1 jobads etl --quiet \
    --events "cassandra://localhost:$PORT/jt_tls?tls=1&ca=$C/ca.pem" --analytics "$AN"
assert_grep "is refused, naming the host" "localhost:$PORT: TLS: the server's certificate is refused: hostname mismatch" "$WORK/last.err"
assert_status "by IP, which the certificate does not carry" 1 jobads etl --quiet \
    --events "cassandra://127.0.0.1:$PORT/jt_tls?tls=1&ca=$C/ca.pem" --analytics "$AN"
assert_grep "is refused: IP address mismatch" "127\.0\.0\.1:$PORT: TLS: the server's certificate is refused: IP address mismatch" "$WORK/last.err"
assert_status "verify_host=0 checks the chain only" 0 jobads init \
    --events "cassandra://localhost:$PORT/jt_tls?ca=$C/ca.pem&verify_host=0"

start_srv plain
assert_status "a plain-text server" 1 jobads etl --quiet \
    --events "cassandra://localhost:$PORT/jt_tls?tls=1&ca=$C/ca.pem" --analytics "$AN"
assert_grep "is refused, naming the host" "localhost:$PORT: TLS" "$WORK/last.err"
finish
