#!/bin/bash
# regward user/robot admin commands on a real database file, through the
# CLI: add, list (text and JSON, never a hash), passwd, disable/enable,
# verify, del, import-htpasswd of files made by `htpasswd -B`, robot
# secrets printed once, and bad input answered with one line on stderr and
# exit status 2 (usage) or 1 (anything else). No registry is needed.
. "$(dirname "$0")/lib.sh"
require_cmd jq htpasswd

[ -n "${REGWARD_BIN:-}" ] || fail "REGWARD_BIN is not set"
[ -x "$REGWARD_BIN" ] || fail "REGWARD_BIN=$REGWARD_BIN is not executable"

CFG="$TMP/regward.json"
DB="$TMP/regward.db"
jq -n --arg db "$DB" '{listen: "127.0.0.1:0",
    public_url: "http://127.0.0.1:5000",
    upstream: {url: "http://127.0.0.1:5001"}, database: $db}' >"$CFG"

rw() { "$REGWARD_BIN" "$@"; }

# expect_fail STATUS SUBSTRING CMD...: CMD (stdin from /dev/null unless
# the caller redirects) exits with STATUS and prints exactly one line on
# stderr containing SUBSTRING, and nothing on stdout.
expect_fail()
{
	local want=$1 sub=$2 rc=0 out errl
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	out=$(cat "$TMP/out")
	errl=$(cat "$TMP/err")
	assert_eq "$want" "$rc" "exit status of: $*"
	assert_eq 1 "$(wc -l <"$TMP/err")" "stderr lines of: $* ($errl)"
	assert_contains "$errl" "$sub" "stderr of: $*"
	assert_eq "" "$out" "stdout of: $*"
	log "ok: $* -> $rc: $errl"
}

# verify KIND NAME PASSWORD: exit status of `regward KIND verify`.
verify()
{
	local rc=0
	printf '%s\n' "$3" | rw "$1" verify "$2" --password-stdin -c "$CFG" \
	    >/dev/null 2>&1 || rc=$?
	echo "$rc"
}

# no_hashes TEXT: no crypt hash and no robot secret appears in TEXT.
no_hashes()
{
	assert_not_contains "$1" '$y$' "listing"
	assert_not_contains "$1" '$2y$' "listing"
	assert_not_contains "$1" '$2b$' "listing"
	assert_not_contains "$1" 'rwr_' "listing"
}

# ------------------------------------------------------------ user add

printf 'alice pw\n' | rw user add alice --role admin --role ci \
    --password-stdin -c "$CFG"
# No trailing newline is fine too; only the first line is the password.
printf 'bob pw' | rw user add bob --role=reader --password-stdin \
    --config "$CFG"
printf 'carol pw\nsecond line\n' | rw user add carol --role reader \
    --password-stdin --config="$CFG"

assert_eq 0 "$(verify user alice 'alice pw')" "alice's password"
assert_eq 1 "$(verify user alice 'alice pw ')" "alice, trailing space"
assert_eq 1 "$(verify user alice 'bob pw')" "alice with bob's password"
assert_eq 0 "$(verify user bob 'bob pw')" "bob's password without newline"
assert_eq 0 "$(verify user carol 'carol pw')" "carol: first line only"
assert_eq 1 "$(verify user nobody 'x')" "unknown user"
assert_eq 1 "$(verify robot alice 'alice pw')" "alice is no robot"

if command -v sqlite3 >/dev/null 2>&1; then
	assert_eq '$y$' "$(sqlite3 "$DB" \
	    "SELECT substr(hash, 1, 3) FROM principals WHERE name = 'alice'")" \
	    "stored hash type"
	assert_not_contains "$(sqlite3 "$DB" 'SELECT hash FROM principals')" \
	    'alice pw' "stored hashes"
fi

# ------------------------------------------------------------ user list

list=$(rw user list -c "$CFG")
no_hashes "$list"
assert_eq 4 "$(wc -l <<<"$list")" "user list lines (header + 3)"
assert_eq "NAME KIND ROLES DISABLED" "$(head -1 <<<"$list" | cut -f1-4 | tr '\t' ' ')" \
    "user list header"
assert_eq "alice user admin,ci no" \
    "$(grep '^alice' <<<"$list" | cut -f1-4 | tr '\t' ' ')" "alice's row"
created=$(grep '^alice' <<<"$list" | cut -f5)
[[ $created =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]] ||
    fail "created column: '$created'"

json=$(rw user list --json -c "$CFG")
no_hashes "$json"
assert_eq 3 "$(jq length <<<"$json")" "user list --json length"
assert_eq '["admin","ci"]' "$(jq -c '.[] | select(.name == "alice") | .roles' <<<"$json")" \
    "alice's roles in JSON"
assert_eq 'user false' "$(jq -r '.[0] | "\(.kind) \(.disabled)"' <<<"$json")" \
    "kind and disabled in JSON"
assert_eq '["name","kind","roles","disabled","created","updated"]' \
    "$(jq -c '.[0] | keys_unsorted' <<<"$json")" "JSON keys"

# ------------------------------------------------------------ bad input

expect_fail 1 "user alice already exists" \
    rw user add alice --role x --password-stdin -c "$CFG" <<<"other"
assert_eq 0 "$(verify user alice 'alice pw')" "alice unchanged by a duplicate"
expect_fail 2 'user name "Alice"' \
    rw user add Alice --role x --password-stdin -c "$CFG" <<<"pw"
expect_fail 2 'user name "a/b"' \
    rw user add a/b --role x --password-stdin -c "$CFG" <<<"pw"
expect_fail 2 '--role "Admin"' \
    rw user add dave --role Admin --password-stdin -c "$CFG" <<<"pw"
expect_fail 2 "missing --role" \
    rw user add dave --password-stdin -c "$CFG" <<<"pw"
expect_fail 2 "--password-stdin is required" \
    rw user add dave --role x -c "$CFG" </dev/null
expect_fail 1 "empty password refused" \
    rw user add dave --role x --password-stdin -c "$CFG" <<<""
expect_fail 1 "longer than 1024 bytes" \
    rw user add dave --role x --password-stdin -c "$CFG" \
    <<<"$(head -c 1100 /dev/zero | tr '\0' x)"
expect_fail 2 "missing -c FILE" rw user list </dev/null
expect_fail 2 "missing NAME" rw user del -c "$CFG" </dev/null
expect_fail 2 "unexpected argument: --json" \
    rw user del alice --json -c "$CFG" </dev/null
expect_fail 2 "unexpected argument: extra" \
    rw user del alice extra -c "$CFG" </dev/null
expect_fail 2 "unknown command: frob" rw user frob -c "$CFG" </dev/null
expect_fail 1 "$TMP/missing.json" rw user list -c "$TMP/missing.json" </dev/null
expect_fail 1 "no user named dave" rw user del dave -c "$CFG" </dev/null
expect_fail 1 "no user named dave" \
    rw user passwd dave --password-stdin -c "$CFG" <<<"pw"
assert_not_contains "$(rw user list -c "$CFG")" "dave" "list after refusals"

# ------------------------------------------------------------ passwd, disable

printf 'new alice pw\n' | rw user passwd alice --password-stdin -c "$CFG"
assert_eq 1 "$(verify user alice 'alice pw')" "old password after passwd"
assert_eq 0 "$(verify user alice 'new alice pw')" "new password after passwd"

rw user disable bob -c "$CFG" </dev/null
assert_eq 1 "$(verify user bob 'bob pw')" "disabled bob"
assert_eq yes "$(rw user list -c "$CFG" | awk -F'\t' '$1 == "bob" { print $4 }')" \
    "bob listed as disabled"
rw user enable bob -c "$CFG" </dev/null
assert_eq 0 "$(verify user bob 'bob pw')" "re-enabled bob"

# ------------------------------------------------------------ import-htpasswd

HT="$TMP/users.htpasswd"
{
	echo "# team accounts"
	htpasswd -Bbn erin 'erin pw'
	htpasswd -Bbn frank 'frank:pw'
	htpasswd -Bbn carol 'carol new'
} >"$HT"
out=$(rw user import-htpasswd "$HT" --role reader --role pull -c "$CFG" </dev/null)
assert_eq "$HT: 2 added, 1 updated, 4 skipped" "$out" "import report"
assert_eq 0 "$(verify user erin 'erin pw')" "imported erin"
assert_eq 0 "$(verify user frank 'frank:pw')" "imported frank (':' in password)"
assert_eq 0 "$(verify user carol 'carol new')" "carol's imported hash"
assert_eq 1 "$(verify user carol 'carol pw')" "carol's old password"
json=$(rw user list --json -c "$CFG")
no_hashes "$json"
assert_eq '["pull","reader"]' "$(jq -c '.[] | select(.name == "erin") | .roles' <<<"$json")" \
    "roles of an imported user"
assert_eq '["reader"]' "$(jq -c '.[] | select(.name == "carol") | .roles' <<<"$json")" \
    "an existing user keeps her roles"

BAD="$TMP/bad.htpasswd"
{
	htpasswd -Bbn gina 'gina pw' | head -1
	htpasswd -mbn hank 'hank pw' | head -1
} >"$BAD"
expect_fail 1 "$BAD:2: user hank: unsupported password hash: Apache MD5" \
    rw user import-htpasswd "$BAD" -c "$CFG" </dev/null
assert_not_contains "$(cat "$TMP/err")" "$(cut -d: -f2- <"$BAD" | tail -1)" \
    "the refused hash in the error"
htpasswd -sbn ivan 'ivan pw' | head -1 >"$BAD"
expect_fail 1 "$BAD:1: user ivan: unsupported password hash: SHA-1" \
    rw user import-htpasswd "$BAD" -c "$CFG" </dev/null
list=$(rw user list -c "$CFG")
assert_not_contains "$list" "gina" "a failed import writes nothing"
expect_fail 1 "$TMP/nofile" rw user import-htpasswd "$TMP/nofile" -c "$CFG" </dev/null

# ------------------------------------------------------------ robots

rw robot add ci-pusher --role push --role ci -c "$CFG" </dev/null >"$TMP/secret" \
    2>"$TMP/robot.err"
assert_eq 1 "$(wc -l <"$TMP/secret")" "robot add: stdout lines"
assert_eq "" "$(cat "$TMP/robot.err")" "robot add: stderr"
secret=$(cat "$TMP/secret")
[[ $secret =~ ^rwr_[A-Za-z0-9_-]{43}$ ]] || fail "robot secret format: '$secret'"
assert_eq 0 "$(verify robot ci-pusher "$secret")" "robot secret verifies"
assert_eq 1 "$(verify robot ci-pusher "${secret}x")" "altered robot secret"
assert_eq 1 "$(verify user ci-pusher "$secret")" "robot secret as a user"

rw robot add other --role push -c "$CFG" </dev/null >"$TMP/secret2"
assert_ne "$secret" "$(cat "$TMP/secret2")" "second robot secret"

list=$(rw robot list -c "$CFG")
no_hashes "$list"
assert_not_contains "$list" "${secret#rwr_}" "robot list"
assert_eq "ci-pusher robot ci,push no" \
    "$(grep '^ci-pusher' <<<"$list" | cut -f1-4 | tr '\t' ' ')" "robot row"
assert_not_contains "$(rw user list -c "$CFG")" "ci-pusher" "user list"
json=$(rw robot list --json -c "$CFG")
no_hashes "$json"
assert_eq 2 "$(jq length <<<"$json")" "robot list --json length"

expect_fail 1 "robot ci-pusher already exists" \
    rw robot add ci-pusher --role push -c "$CFG" </dev/null
expect_fail 2 "missing --role" rw robot add r2 -c "$CFG" </dev/null
expect_fail 2 "unexpected argument: --password-stdin" \
    rw robot add r2 --role x --password-stdin -c "$CFG" </dev/null

rw robot del ci-pusher -c "$CFG" </dev/null
assert_eq 1 "$(verify robot ci-pusher "$secret")" "deleted robot"
assert_not_contains "$(rw robot list -c "$CFG")" "ci-pusher" "robot list after del"
expect_fail 1 "no robot named ci-pusher" rw robot del ci-pusher -c "$CFG" </dev/null

# ------------------------------------------------------------ user del

rw user del alice -c "$CFG" </dev/null
assert_eq 1 "$(verify user alice 'new alice pw')" "deleted alice"
assert_not_contains "$(rw user list -c "$CFG" | cut -f1)" "alice" "list after del"
expect_fail 1 "no user named alice" rw user del alice -c "$CFG" </dev/null

# The gateway still accepts the database (schema migrated, not newer).
rw check -c "$CFG" >/dev/null
