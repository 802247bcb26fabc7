# shellcheck shell=bash
# purge_lib.sh: helpers shared by t_purge*.sh (sourced after lib.sh).
# shellcheck disable=SC2034
#
# The gateway records pushes in the ledger for authenticated callers:
# purge_start_gateway starts it with an auth section, one policy that lets
# any user do anything, and user "ci" (password in $CI_PW); helpers push
# with those credentials (CREDS).

CI_PW='ci pw'
CREDS=(-u "ci:$CI_PW")

# purge_start_gateway EXTRA_JSON: registry must be started.
purge_start_gateway()
{
	local extra
	extra=$(jq -n --arg k "$TMP/token.pem" --argjson e "${1:-"{}"}" \
	    '{auth: {token: {key: $k}},
	      policies: [{repository: "**", pull: ["*"], push: ["*"],
	                  delete: ["*"]}]} * $e')
	auth_config_write "$extra"
	user_add ci "$CI_PW" ci
	start_gateway "$extra"
	export REGWARD_USERNAME=ci REGWARD_PASSWORD=$CI_PW
}

# img_push REPO REF: a fresh small image pushed to REF (a tag or, for an
# untagged push, "-": by its own digest) through $GW_URL: one layer shared
# by all images of the test (uploaded once per repository) and a config
# with a random nonce, so that every call makes a new digest cheaply.
# Prints the manifest digest; the manifest is kept as $TMP/m-<hex>.json
# for retagging.
img_push()
{
	local repo=$1 ref=$2 mark lsize ldgst cfg csize cdgst m mf
	if [ ! -f "$TMP/layer.tar.gz" ]; then
		random_file "$TMP/layer.bin" 1k
		tar -cf - -C "$TMP" layer.bin | gzip -1 -n >"$TMP/layer.tar.gz"
		file_digest "$TMP/layer.bin" >"$TMP/layer.diffid"
	fi
	ldgst=$(file_digest "$TMP/layer.tar.gz")
	lsize=$(file_size "$TMP/layer.tar.gz")
	mark="$TMP/layer-in-${repo//\//_}"
	if [ ! -f "$mark" ]; then
		auth_push_blob "$repo" "$TMP/layer.tar.gz" "${CREDS[@]}"
		[ "$HTTP_STATUS" = 201 ] || fail "img_push $repo: layer: $HTTP_STATUS"
		: >"$mark"
	fi
	cfg=$(mktemp "$TMP/cfg.XXXXXX")
	printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{"Labels":{"nonce":"%s"}}}' \
	    "$(cat "$TMP/layer.diffid")" "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$cfg"
	cdgst=$(file_digest "$cfg")
	csize=$(file_size "$cfg")
	auth_push_blob "$repo" "$cfg" "${CREDS[@]}"
	[ "$HTTP_STATUS" = 201 ] || fail "img_push $repo: config: $HTTP_STATUS"
	m=$(mktemp "$TMP/mf.XXXXXX")
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%s},"layers":[{"mediaType":"%s","digest":"%s","size":%s}]}' \
	    "$MT_OCI_MANIFEST" "$MT_OCI_CONFIG" "$cdgst" "$csize" \
	    "$MT_OCI_LAYER_GZ" "$ldgst" "$lsize" >"$m"
	mf=$(file_digest "$m")
	mv "$m" "$TMP/m-${mf#sha256:}.json"
	rm -f "$cfg"
	[ "$ref" = - ] && ref=$mf
	http PUT "$GW_URL/v2/$repo/manifests/$ref" "${CREDS[@]}" \
	    -H "Content-Type: $MT_OCI_MANIFEST" \
	    --data-binary @"$TMP/m-${mf#sha256:}.json"
	[ "$HTTP_STATUS" = 201 ] || fail "img_push $repo:$ref: manifest: $HTTP_STATUS"
	echo "$mf"
}

# img_tag REPO TAG DIGEST: put the manifest DIGEST (pushed by img_push)
# under another tag, through the gateway.
img_tag()
{
	http PUT "$GW_URL/v2/$1/manifests/$2" -H "Content-Type: $MT_OCI_MANIFEST" \
	    --data-binary @"$TMP/m-${3#sha256:}.json" "${CREDS[@]}"
	[ "$HTTP_STATUS" = 201 ] || fail "retag $1:$2 gave $HTTP_STATUS"
}

# index_push REPO REF DIGEST...: an OCI index listing the manifests
# DIGEST... (pushed by img_push), pushed to REF ("-": by digest). Prints
# its digest.
index_push()
{
	local repo=$1 ref=$2 d arr="[]" f
	shift 2
	for d in "$@"; do
		arr=$(jq -c --arg d "$d" --argjson s \
		    "$(file_size "$TMP/m-${d#sha256:}.json")" \
		    --arg mt "$MT_OCI_MANIFEST" \
		    '. + [{mediaType: $mt, digest: $d, size: $s,
		      platform: {architecture: "amd64", os: "linux"}}]' <<<"$arr")
	done
	f=$(mktemp "$TMP/index.XXXXXX")
	jq -c -n --argjson m "$arr" \
	    '{schemaVersion: 2,
	      mediaType: "application/vnd.oci.image.index.v1+json",
	      manifests: $m}' >"$f"
	d=$(file_digest "$f")
	[ "$ref" = - ] && ref=$d
	http PUT "$GW_URL/v2/$repo/manifests/$ref" "${CREDS[@]}" \
	    -H "Content-Type: application/vnd.oci.image.index.v1+json" \
	    --data-binary @"$f"
	[ "$HTTP_STATUS" = 201 ] || fail "index push $repo:$ref gave $HTTP_STATUS"
	echo "$d"
}

# up_status REPO DIGEST: HTTP status of a manifest HEAD on the registry.
up_status()
{
	reg_status HEAD "/v2/$1/manifests/$2" \
	    -H "Accept: $MT_OCI_MANIFEST, application/vnd.oci.image.index.v1+json"
}

assert_gone() { assert_eq 404 "$(up_status "$1" "$2")" "$3 deleted upstream"; }
assert_kept() { assert_eq 200 "$(up_status "$1" "$2")" "$3 kept upstream"; }

# planned_digests FILE: the sorted digests of the JSON lines in FILE.
planned_digests() { jq -r '.digest' "$1" | sort; }

# sorted LIST...: the arguments one a line, sorted.
sorted() { printf '%s\n' "$@" | sort; }

# ledger SQL: run SQL on the gateway's database.
ledger() { sqlite3 "$TMP/regward.db" "$1"; }

# next_second: the ledger keeps whole seconds, and a purge counts a push
# made in the second its run starts as made during the run (and keeps it,
# erring on the safe side). Before starting a purge whose plan the test
# predicts, let the clock leave the second of the last push.
next_second()
{
	local s
	s=$(date +%s)
	while [ "$(date +%s)" -le "$s" ]; do sleep 0.05; done
}

# wait_ledger SQL WANT: poll until SQL prints WANT (the gateway's ledger
# writer commits within a fraction of a second).
wait_ledger()
{
	local i got=""
	for i in $(seq 50); do
		got=$(ledger "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	fail "ledger: $1: want '$2', got '$got'"
}
