/*
 * test_sig: the signature library (signer/sig_*.c).
 *
 * Data lives in REGWARD_TEST_DATA/sig (see its README.md):
 *   cases/NAME/     one signature layer each, same layout as the shared
 *                   cosign vectors: manifest.json, payload, signature,
 *                   layer.json (may also pin "digest"/"size"), key, expect
 *   payload/{valid,invalid}/NAME.json   strict-parse corpus
 *   payload/build-*.json   exact bytes the builder must produce
 *   mfst/           the worked example of cosign-format.md §9 and a
 *                   corpus of invalid signature manifests
 *   keys/           key files in every format the loader reads
 * The real cosign / containers/image vectors are read in place from
 * REGWARD_SHARED/fixtures/cosign when ../shared exists, else skipped.
 * Everything checked independently of the code under test (OpenSSL's
 * EVP_DigestVerify, a hand-rolled scrypt + secretbox) is done here with
 * the libraries directly.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "regward/sig.h"

#ifndef REGWARD_TEST_DATA
#error "define REGWARD_TEST_DATA as the absolute path of tests/data"
#endif

#define TEST_SIG_DIR REGWARD_TEST_DATA "/sig"
#define TEST_SIG_PASS "regward-test" /* passphrase of the keys/ files */
#define TEST_SIG_MIN_LOCAL_CASES 16
#define TEST_SIG_MIN_SHARED_CASES 5
#define TEST_SIG_PATH_MAX 4096

/* ------------------------------------------------------------------ */
/* helpers */

/* Read a whole file; NUL-terminated for convenience. NULL if absent. */
static char *
test_sig_read_opt(const char *path, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *
test_sig_read(const char *path, size_t *len)
{
	char *buf = test_sig_read_opt(path, len);

	if (buf == NULL)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	return buf;
}

static char *test_sig_readf(size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *
test_sig_readf(size_t *len, const char *fmt, ...)
{
	char path[TEST_SIG_PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return test_sig_read(path, len);
}

/* Strip trailing whitespace in place. */
static char *
test_sig_trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 &&
	    (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
		s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static int
test_sig_is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Sorted list of entries of dir ending in suffix ("" for directories). */
static size_t
test_sig_list(const char *dir, const char *suffix, int dirs, char ***out)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, path[TEST_SIG_PATH_MAX];
	size_t n = 0, i, j, sl = strlen(suffix);

	d = opendir(dir);
	if (d == NULL)
		fail_msg("cannot open %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (dirs != test_sig_is_dir(path))
			continue;
		if (l < sl || strcmp(de->d_name + l - sl, suffix) != 0)
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		assert_non_null(names);
		names[n] = strdup(de->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	*out = names;
	return n;
}

static void
test_sig_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Independent base64 decoding with OpenSSL (ignores whitespace). */
static unsigned char *
test_sig_unb64(const char *s, size_t *outlen)
{
	char *clean;
	unsigned char *out;
	size_t i, n = 0, pad = 0;
	int r;

	clean = malloc(strlen(s) + 1);
	assert_non_null(clean);
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] != '\n' && s[i] != '\r' && s[i] != ' ')
			clean[n++] = s[i];
	clean[n] = '\0';
	assert_int_equal(n % 4, 0);
	if (n > 0 && clean[n - 1] == '=')
		pad++;
	if (n > 1 && clean[n - 2] == '=')
		pad++;
	out = malloc(n / 4 * 3 + 1);
	assert_non_null(out);
	r = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n);
	assert_true(r >= 0);
	*outlen = (size_t)r - pad;
	free(clean);
	return out;
}

static EVP_PKEY *
test_sig_pub(const char *path)
{
	EVP_PKEY *k = NULL;
	char err[SIG_ERR_MAX];

	if (sig_key_load_public_file(path, &k, err, sizeof(err)) != SIG_KEY_OK)
		fail_msg("%s", err);
	return k;
}

/* A fresh temporary directory; removed (with its files) by rmtree. */
static void
test_sig_tmpdir(char *dir, size_t len)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, len, "%s/test_sig.XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static void
test_sig_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[TEST_SIG_PATH_MAX];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static size_t
test_sig_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ */
/* signature cases (shared cosign vectors and our own) */

/*
 * Run every case folder of dir through sig_verify_layer() and compare
 * with its expect file. A freshly generated key is tried first so that
 * the key loop, not just one key, is exercised. Returns the case count.
 */
static size_t
test_sig_run_cases(const char *dir)
{
	char **names = NULL, path[TEST_SIG_PATH_MAX], err[SIG_ERR_MAX];
	size_t n, i;
	EVP_PKEY *decoy;

	decoy = sig_key_generate(err, sizeof(err));
	assert_non_null(decoy);
	n = test_sig_list(dir, "", 1, &names);
	for (i = 0; i < n; i++) {
		char *mfst, *payload, *layertxt, *keyname, *expect;
		size_t mlen, plen, llen, klen, elen;
		char dgst[SIG_DIGEST_SIZE];
		json_t *lj;
		json_error_t jerr;
		struct sig_layer layer;
		struct sig_trusted_key keys[2];
		struct sig_verify_out out;
		enum sig_verify_result r;

		mfst =
		    test_sig_readf(&mlen, "%s/%s/manifest.json", dir, names[i]);
		payload = test_sig_readf(&plen, "%s/%s/payload", dir, names[i]);
		layertxt =
		    test_sig_readf(&llen, "%s/%s/layer.json", dir, names[i]);
		keyname = test_sig_trim(
		    test_sig_readf(&klen, "%s/%s/key", dir, names[i]));
		expect = test_sig_trim(
		    test_sig_readf(&elen, "%s/%s/expect", dir, names[i]));
		assert_int_equal(sig_digest_sha256(mfst, mlen, dgst), 0);

		/* The descriptor as the .sig manifest would hold it. */
		lj = json_loads(layertxt, 0, &jerr);
		assert_non_null(lj);
		if (json_object_get(lj, "digest") == NULL) {
			char pd[SIG_DIGEST_SIZE];

			assert_int_equal(
			    sig_digest_sha256(payload, plen, pd), 0);
			json_object_set_new(lj, "digest", json_string(pd));
		}
		if (json_object_get(lj, "size") == NULL)
			json_object_set_new(
			    lj, "size", json_integer((json_int_t)plen));
		if (sig_mfst_layer_from_json(lj, &layer, err, sizeof(err)) != 0)
			fail_msg("case %s: layer.json: %s", names[i], err);

		snprintf(path, sizeof(path), "%s/%s", dir, keyname);
		keys[0].name = "decoy";
		keys[0].key = decoy;
		keys[1].name = keyname;
		keys[1].key = test_sig_pub(path);

		err[0] = '\0';
		r = sig_verify_layer(dgst, &layer, payload, plen, keys, 2, &out,
		    err, sizeof(err));
		print_message("case %s: %s (%s)\n", names[i],
		    sig_verify_result_name(r), err);
		if (strcmp(sig_verify_result_name(r), expect) != 0)
			fail_msg("case %s: got %s, want %s: %s", names[i],
			    sig_verify_result_name(r), expect, err);
		if (r == SIG_VERIFY_OK) {
			assert_string_equal(out.key_name, keyname);
			assert_int_equal(out.key_index, 1);
			assert_string_equal(out.payload.digest, dgst);
			assert_non_null(out.payload.identity);
			assert_string_equal(err, "");
		} else {
			assert_true(err[0] != '\0');
		}
		if (r == SIG_VERIFY_DIGEST_MISMATCH) {
			assert_string_equal(out.key_name, keyname);
			assert_non_null(out.payload.digest);
			assert_string_not_equal(out.payload.digest, dgst);
		}
		if (r == SIG_VERIFY_UNTRUSTED_KEY ||
		    r == SIG_VERIFY_BAD_SIGNATURE)
			assert_null(out.key_name);

		/* No trusted key at all is never "valid". */
		r = sig_verify_layer(dgst, &layer, payload, plen, NULL, 0, NULL,
		    err, sizeof(err));
		assert_int_not_equal(r, SIG_VERIFY_OK);

		sig_verify_out_clear(&out);
		EVP_PKEY_free(keys[1].key);
		sig_mfst_layer_clear(&layer);
		json_decref(lj);
		free(mfst);
		free(payload);
		free(layertxt);
		free(keyname);
		free(expect);
	}
	test_sig_list_free(names, n);
	EVP_PKEY_free(decoy);
	return n;
}

static void
test_sig_shared_vectors(void **state)
{
#ifdef REGWARD_SHARED
	const char *dir = REGWARD_SHARED "/fixtures/cosign";
	char path[TEST_SIG_PATH_MAX], *p;
	size_t len;
	struct sig_payload pl;
	char err[SIG_ERR_MAX];

	(void)state;
	if (!test_sig_is_dir(dir)) {
		print_message("skipping: ../shared not present (%s)\n", dir);
		skip();
	}
	assert_true(test_sig_run_cases(dir) >= TEST_SIG_MIN_SHARED_CASES);

	/* cosign's own payload: repository-only identity, optional null. */
	snprintf(path, sizeof(path), "%s/cosign-valid/payload", dir);
	p = test_sig_read(path, &len);
	assert_int_equal(sig_payload_parse(p, len, &pl, err, sizeof(err)), 0);
	assert_string_equal(
	    pl.identity, "192.168.64.2:5000/cosign-signed-single-sample");
	assert_null(pl.optional);
	assert_null(pl.creator);
	sig_payload_clear(&pl);
	free(p);
#else
	(void)state;
	print_message("skipping: REGWARD_SHARED not defined\n");
	skip();
#endif
}

static void
test_sig_local_cases(void **state)
{
	(void)state;
	assert_true(test_sig_run_cases(TEST_SIG_DIR "/cases") >=
	    TEST_SIG_MIN_LOCAL_CASES);
}

/* ------------------------------------------------------------------ */
/* base64, digests, references */

static void
test_sig_b64(void **state)
{
	static const struct {
		const char *plain, *b64;
	} vec[] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	    {"\xff\xfe\xfd", "//79"},
	    {"\xfb\xff", "+/8="},
	};
	static const char *const bad[] = {"Zg", "Zg=", "Z===", "=",
	    "Zm9v=", "Zm9vYg==Zg==", "Zm9vYg=a", "Zm9-", "Zm9_", "Zm 9v",
	    "Zm9v\n", "Zm9vY", "\x80\x80\x80\x80", "Zm9\0"};
	unsigned char *out;
	size_t i, outlen;
	char *enc;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		enc =
		    sig_b64_encode(vec[i].plain, strlen(vec[i].plain), &outlen);
		assert_non_null(enc);
		assert_string_equal(enc, vec[i].b64);
		assert_int_equal(outlen, strlen(vec[i].b64));
		free(enc);
		assert_int_equal(sig_b64_decode(vec[i].b64, strlen(vec[i].b64),
				     0, &out, &outlen),
		    0);
		assert_non_null(out);
		assert_int_equal(outlen, strlen(vec[i].plain));
		assert_memory_equal(out, vec[i].plain, outlen);
		free(out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t l = strcmp(bad[i], "Zm9\0") == 0 ? 4 : strlen(bad[i]);

		out = (unsigned char *)"x";
		if (sig_b64_decode(bad[i], l, 0, &out, &outlen) != -1)
			fail_msg("accepted bad base64 #%zu", i);
		assert_null(out);
		assert_int_equal(outlen, 0);
	}
	/* Whitespace only with SIG_B64_SKIP_WS (PEM bodies). */
	assert_int_equal(sig_b64_decode("Zm 9v\r\nYg\n==\n", 13,
			     SIG_B64_SKIP_WS, &out, &outlen),
	    0);
	assert_int_equal(outlen, 4);
	assert_memory_equal(out, "foob", 4);
	free(out);
	assert_int_equal(
	    sig_b64_decode("Zg==\nZg==", 9, SIG_B64_SKIP_WS, &out, &outlen),
	    -1);
}

static void
test_sig_digest(void **state)
{
	char d[SIG_DIGEST_SIZE];
	static const char *const bad[] = {"", "sha256:",
	    "sha256:"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
	    "sha256:"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
	    "sha256:"
	    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	    "sha512:"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "SHA256:"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256-"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "sha256:"
	    "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
	size_t i;

	(void)state;
	assert_int_equal(sig_digest_sha256("", 0, d), 0);
	assert_string_equal(d,
	    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
	    "649b934ca495991b7852b855");
	assert_true(sig_digest_valid(d, strlen(d)));
	assert_int_equal(sig_digest_sha256("abc", 3, d), 0);
	assert_string_equal(d,
	    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a3"
	    "96177a9cb410ff61f20015ad");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sig_digest_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted digest %s", bad[i]);
	assert_false(sig_digest_valid(NULL, 0));
}

#define TEST_SIG_HEX                                                           \
	"5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"

struct test_sig_ref_case {
	const char *in;
	int flags;
	const char *registry, *repo, *tag, *digest;
	const char *identity; /* NULL: sig_ref_identity() fails */
};

static void
test_sig_ref(void **state)
{
	/* clang-format off */
	static const struct test_sig_ref_case ok[] = {
		{ "busybox", 0, "docker.io", "library/busybox", "", "", NULL },
		{ "busybox", SIG_REF_DEFAULT_LATEST, "docker.io",
		    "library/busybox", "latest", "",
		    "docker.io/library/busybox:latest" },
		{ "busybox:1.36", 0, "docker.io", "library/busybox", "1.36", "",
		    "docker.io/library/busybox:1.36" },
		{ "docker.io/busybox:1", 0, "docker.io", "library/busybox", "1",
		    "", "docker.io/library/busybox:1" },
		{ "index.docker.io/library/busybox:latest", 0, "docker.io",
		    "library/busybox", "latest", "",
		    "docker.io/library/busybox:latest" },
		{ "user/app:v2", 0, "docker.io", "user/app", "v2", "",
		    "docker.io/user/app:v2" },
		{ "registry.example.com/team/app:1.4.2", 0,
		    "registry.example.com", "team/app", "1.4.2", "",
		    "registry.example.com/team/app:1.4.2" },
		{ "registry.example.com:5000/team/app:1.4.2", 0,
		    "registry.example.com:5000", "team/app", "1.4.2", "",
		    "registry.example.com:5000/team/app:1.4.2" },
		{ "localhost:5000/app", SIG_REF_DEFAULT_LATEST,
		    "localhost:5000", "app", "latest", "",
		    "localhost:5000/app:latest" },
		{ "localhost/app:v1", 0, "localhost", "app", "v1", "",
		    "localhost/app:v1" },
		{ "192.168.64.2:5000/cosign-signed-single-sample", 0,
		    "192.168.64.2:5000", "cosign-signed-single-sample", "", "",
		    NULL },
		{ "[::1]:5000/app:tag", 0, "[::1]:5000", "app", "tag", "",
		    "[::1]:5000/app:tag" },
		{ "Reg/app", 0, "Reg", "app", "", "", NULL },
		{ "r.io/a/b/c:t@sha256:" TEST_SIG_HEX, SIG_REF_DEFAULT_LATEST,
		    "r.io", "a/b/c", "t", "sha256:" TEST_SIG_HEX,
		    "r.io/a/b/c:t" },
		{ "r.io/app@sha256:" TEST_SIG_HEX, SIG_REF_DEFAULT_LATEST,
		    "r.io", "app", "", "sha256:" TEST_SIG_HEX,
		    "r.io/app@sha256:" TEST_SIG_HEX },
		{ "a__b/c.d/e--f/g_h-i:_T.a-g", 0, "docker.io",
		    "a__b/c.d/e--f/g_h-i", "_T.a-g", "",
		    "docker.io/a__b/c.d/e--f/g_h-i:_T.a-g" },
		{ "my-reg.example.com/x", 0, "my-reg.example.com", "x", "", "",
		    NULL },
	};
	static const char *const bad[] = {
		"", "app/UPPER", "app:", "app:-bad", "app:.bad",
		"app@sha256:short", "app@md5:" TEST_SIG_HEX,
		"app@sha256:" TEST_SIG_HEX "0", "/app", "app/", "a//b",
		"host:99999999/app", "host:/app", "r.io/app:tag:tag2",
		"a___b", "a.-b", "-a", "a-", "_a", "r.io/", "-r.io/app",
		"r-.io/app", "r..io/app", "[::1/app", "[]/app", "r.io/a b",
		"r.io/a\tb", "r.io/a%2fb", "r.io/app@", "app@@sha256:" TEST_SIG_HEX,
		"a/b:c/d",
	};
	/* clang-format on */
	struct sig_ref ref;
	char buf[SIG_REF_IDENTITY_SIZE], err[SIG_ERR_MAX], longtag[200];
	char longrepo[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (sig_ref_parse(
			ok[i].in, ok[i].flags, &ref, err, sizeof(err)) != 0)
			fail_msg("%s: %s", ok[i].in, err);
		assert_string_equal(ref.registry, ok[i].registry);
		assert_string_equal(ref.repo, ok[i].repo);
		assert_string_equal(ref.tag, ok[i].tag);
		assert_string_equal(ref.digest, ok[i].digest);
		if (ok[i].identity == NULL) {
			assert_int_equal(
			    sig_ref_identity(&ref, buf, sizeof(buf)), -1);
			assert_string_equal(buf, "");
		} else {
			assert_int_equal(
			    sig_ref_identity(&ref, buf, sizeof(buf)), 0);
			assert_string_equal(buf, ok[i].identity);
		}
		assert_int_equal(sig_ref_repo_name(&ref, buf, sizeof(buf)), 0);
		assert_non_null(strstr(buf, ok[i].repo));
		assert_memory_equal(
		    buf, ok[i].registry, strlen(ok[i].registry));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (sig_ref_parse(bad[i], 0, &ref, err, sizeof(err)) == 0)
			fail_msg("accepted reference \"%s\" (repo %s tag %s)",
			    bad[i], ref.repo, ref.tag);
		assert_true(err[0] != '\0');
		assert_string_equal(ref.registry, "");
	}
	assert_int_equal(sig_ref_parse(NULL, 0, &ref, err, sizeof(err)), -1);

	/* Tags: 128 bytes fine, 129 not. */
	memset(longtag, 0, sizeof(longtag));
	memcpy(longtag, "app:", 4);
	memset(longtag + 4, 't', 128);
	assert_int_equal(sig_ref_parse(longtag, 0, &ref, err, sizeof(err)), 0);
	longtag[4 + 128] = 't';
	assert_int_equal(sig_ref_parse(longtag, 0, &ref, err, sizeof(err)), -1);
	/* Repository names: at most 255 bytes after "library/". */
	memset(longrepo, 0, sizeof(longrepo));
	memcpy(longrepo, "r.io/", 5);
	memset(longrepo + 5, 'a', 255);
	assert_int_equal(sig_ref_parse(longrepo, 0, &ref, err, sizeof(err)), 0);
	longrepo[5 + 255] = 'a';
	assert_int_equal(
	    sig_ref_parse(longrepo, 0, &ref, err, sizeof(err)), -1);
	memset(longrepo, 0, sizeof(longrepo));
	memset(longrepo, 'a', 250);
	assert_int_equal(
	    sig_ref_parse(longrepo, 0, &ref, err, sizeof(err)), -1);

	/* A too small buffer fails cleanly. */
	assert_int_equal(sig_ref_parse("registry.example.com/team/app:1", 0,
			     &ref, err, sizeof(err)),
	    0);
	assert_int_equal(sig_ref_identity(&ref, buf, 10), -1);
	assert_string_equal(buf, "");
	assert_int_equal(sig_ref_repo_name(&ref, buf, 10), -1);

	/* The .sig tag. */
	assert_int_equal(
	    sig_ref_sig_tag("sha256:" TEST_SIG_HEX, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "sha256-" TEST_SIG_HEX ".sig");
	assert_int_equal(strlen(buf) + 1, SIG_REF_SIG_TAG_SIZE);
	assert_int_equal(sig_ref_sig_tag("sha256:" TEST_SIG_HEX, buf,
			     SIG_REF_SIG_TAG_SIZE - 1),
	    -1);
	assert_int_equal(sig_ref_sig_tag("sha256:abc", buf, sizeof(buf)), -1);
	assert_int_equal(sig_ref_sig_tag(NULL, buf, sizeof(buf)), -1);
}

/* ------------------------------------------------------------------ */
/* payload */

static void
test_sig_payload_corpus(void **state)
{
	char **names = NULL, err[SIG_ERR_MAX], *buf;
	size_t n, i, len;
	struct sig_payload pl;

	(void)state;
	n = test_sig_list(TEST_SIG_DIR "/payload/valid", ".json", 0, &names);
	assert_true(n >= 6);
	for (i = 0; i < n; i++) {
		buf = test_sig_readf(
		    &len, TEST_SIG_DIR "/payload/valid/%s", names[i]);
		if (sig_payload_parse(buf, len, &pl, err, sizeof(err)) != 0)
			fail_msg("valid/%s rejected: %s", names[i], err);
		assert_non_null(pl.identity);
		assert_true(sig_digest_valid(pl.digest, strlen(pl.digest)));
		if (strcmp(names[i], "cimage-worked-example.json") == 0) {
			assert_string_equal(
			    pl.identity, "registry.example.com/team/app:1.4.2");
			assert_string_equal(pl.digest, "sha256:" TEST_SIG_HEX);
			assert_non_null(pl.optional);
			assert_string_equal(
			    pl.creator, "containers/image 5.22.1");
			assert_true(pl.has_timestamp);
			assert_int_equal(pl.timestamp, 1700000000);
		}
		if (strcmp(names[i], "cosign-optional-null.json") == 0) {
			assert_string_equal(
			    pl.identity, "registry.example.com/team/app");
			assert_null(pl.optional);
			assert_false(pl.has_timestamp);
		}
		if (strcmp(names[i], "timestamp-integral-float.json") == 0) {
			assert_true(pl.has_timestamp);
			assert_int_equal(pl.timestamp, 1700000000);
			assert_null(pl.creator);
		}
		if (strcmp(names[i], "optional-extra-claims.json") == 0)
			assert_true(json_is_object(
			    json_object_get(pl.optional, SIG_OPTIONAL_SCAN)));
		sig_payload_clear(&pl);
		free(buf);
	}
	test_sig_list_free(names, n);

	n = test_sig_list(TEST_SIG_DIR "/payload/invalid", ".json", 0, &names);
	assert_true(n >= 25);
	for (i = 0; i < n; i++) {
		buf = test_sig_readf(
		    &len, TEST_SIG_DIR "/payload/invalid/%s", names[i]);
		err[0] = '\0';
		if (sig_payload_parse(buf, len, &pl, err, sizeof(err)) == 0)
			fail_msg("invalid/%s accepted", names[i]);
		print_message("invalid/%s: %s\n", names[i], err);
		assert_true(err[0] != '\0');
		assert_null(pl.identity);
		assert_null(pl.optional);
		free(buf);
	}
	test_sig_list_free(names, n);
}

/* The worked example digests of cosign-format.md §9. */
static void
test_sig_payload_worked_example(void **state)
{
	char *buf, d[SIG_DIGEST_SIZE];
	size_t len;

	(void)state;
	buf = test_sig_read(
	    TEST_SIG_DIR "/payload/valid/cosign-optional-null.json", &len);
	assert_int_equal(len, 245);
	assert_int_equal(sig_digest_sha256(buf, len, d), 0);
	assert_string_equal(d,
	    "sha256:36f1bb2cafc2f69778d125ef71fae8af9950d4"
	    "70c37c047583f59795bf964eea");
	free(buf);
	buf = test_sig_read(TEST_SIG_DIR "/payload/build-cimage.json", &len);
	assert_int_equal(len, 307);
	assert_int_equal(sig_digest_sha256(buf, len, d), 0);
	assert_memory_equal(d, "sha256:8629c301", 15);
	free(buf);
}

static void
test_sig_payload_build(void **state)
{
	char *out = NULL, *want, err[SIG_ERR_MAX];
	size_t outlen, wantlen;
	json_t *opt, *bad;
	struct sig_payload pl;
	long long now;

	(void)state;
	/* Exactly containers/image 5.22.1's bytes (worked example). */
	want =
	    test_sig_read(TEST_SIG_DIR "/payload/build-cimage.json", &wantlen);
	assert_int_equal(
	    sig_payload_build("registry.example.com/team/app:1.4.2",
		"sha256:" TEST_SIG_HEX, NULL, "containers/image 5.22.1",
		1700000000, &out, &outlen, err, sizeof(err)),
	    0);
	assert_int_equal(outlen, wantlen);
	assert_memory_equal(out, want, wantlen);
	free(out);
	free(want);

	/* Ours, with extra claims (sorted at every level). */
	want =
	    test_sig_read(TEST_SIG_DIR "/payload/build-regward.json", &wantlen);
	opt = json_pack("{s:s,s:{s:s,s:i}}", "env", "ci", SIG_OPTIONAL_SCAN,
	    "scanner", "trivy", "critical", 0);
	assert_non_null(opt);
	assert_int_equal(
	    sig_payload_build("registry.example.com/team/app:1.4.2",
		"sha256:" TEST_SIG_HEX, opt, "regward-sign 0.1.0", 1700000000,
		&out, &outlen, err, sizeof(err)),
	    0);
	assert_int_equal(outlen, wantlen);
	assert_memory_equal(out, want, wantlen);
	assert_int_equal(strlen(out), outlen);
	/* The caller's object is borrowed, not changed. */
	assert_int_equal(json_object_size(opt), 2);
	assert_int_equal(opt->refcount, 1);
	assert_int_equal(
	    sig_payload_parse(out, outlen, &pl, err, sizeof(err)), 0);
	assert_string_equal(pl.creator, "regward-sign 0.1.0");
	sig_payload_clear(&pl);
	free(out);
	free(want);

	/* Defaults: our creator and the current time. */
	now = (long long)time(NULL);
	assert_int_equal(sig_payload_build("r.io/app:1", "sha256:" TEST_SIG_HEX,
			     opt, NULL, -1, &out, &outlen, err, sizeof(err)),
	    0);
	assert_int_equal(
	    sig_payload_parse(out, outlen, &pl, err, sizeof(err)), 0);
	assert_string_equal(pl.creator, "regward-sign " REGWARD_VERSION);
	assert_true(pl.has_timestamp);
	assert_true(pl.timestamp >= now && pl.timestamp <= now + 60);
	assert_string_equal(pl.identity, "r.io/app:1");
	sig_payload_clear(&pl);
	free(out);

	/* creator and timestamp already in optional win. */
	json_object_set_new(opt, "creator", json_string("someone"));
	json_object_set_new(opt, "timestamp", json_integer(5));
	assert_int_equal(
	    sig_payload_build("r.io/app:1", "sha256:" TEST_SIG_HEX, opt, NULL,
		1700000000, &out, &outlen, err, sizeof(err)),
	    0);
	assert_int_equal(
	    sig_payload_parse(out, outlen, &pl, err, sizeof(err)), 0);
	assert_string_equal(pl.creator, "someone");
	assert_int_equal(pl.timestamp, 5);
	sig_payload_clear(&pl);
	free(out);

	/* Refusals. */
	out = (char *)"x";
	assert_int_equal(sig_payload_build("", "sha256:" TEST_SIG_HEX, NULL,
			     NULL, 1, &out, &outlen, err, sizeof(err)),
	    -1);
	assert_null(out);
	assert_int_equal(sig_payload_build(NULL, "sha256:" TEST_SIG_HEX, NULL,
			     NULL, 1, &out, &outlen, err, sizeof(err)),
	    -1);
	assert_int_equal(sig_payload_build("r.io/app:1", "sha256:abc", NULL,
			     NULL, 1, &out, &outlen, err, sizeof(err)),
	    -1);
	assert_int_equal(
	    sig_payload_build("r.io/app:1", "sha256:" TEST_SIG_HEX, NULL,
		"\xff\xfe", 1, &out, &outlen, err, sizeof(err)),
	    -1);
	assert_int_equal(
	    sig_payload_build("r.io/\xc3(:1", "sha256:" TEST_SIG_HEX, NULL,
		NULL, 1, &out, &outlen, err, sizeof(err)),
	    -1);
	bad = json_array();
	assert_int_equal(sig_payload_build("r.io/app:1", "sha256:" TEST_SIG_HEX,
			     bad, NULL, 1, &out, &outlen, err, sizeof(err)),
	    -1);
	json_decref(bad);
	bad = json_pack("{s:i}", "creator", 1);
	assert_int_equal(sig_payload_build("r.io/app:1", "sha256:" TEST_SIG_HEX,
			     bad, NULL, 1, &out, &outlen, err, sizeof(err)),
	    -1);
	json_decref(bad);
	bad = json_pack("{s:f}", "timestamp", 1.5);
	assert_int_equal(sig_payload_build("r.io/app:1", "sha256:" TEST_SIG_HEX,
			     bad, NULL, 1, &out, &outlen, err, sizeof(err)),
	    -1);
	json_decref(bad);
	json_decref(opt);
}

static void
test_sig_payload_limits(void **state)
{
	char *big, err[SIG_ERR_MAX];
	struct sig_payload pl;
	size_t len = SIG_PAYLOAD_MAX + 1;

	(void)state;
	big = malloc(len);
	assert_non_null(big);
	memset(big, ' ', len);
	assert_int_equal(
	    sig_payload_parse(big, len, &pl, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger"));
	free(big);
	/* An embedded NUL is not JSON. */
	assert_int_equal(
	    sig_payload_parse("{\"critical\"\0", 12, &pl, err, sizeof(err)),
	    -1);
	sig_payload_clear(NULL);
}

/* ------------------------------------------------------------------ */
/* keys */

/*
 * Decrypt a cosign key file independently of sig_key.c: PEM -> base64 ->
 * JSON -> scrypt (EVP_PBE_scrypt) -> crypto_secretbox_open_easy ->
 * PKCS#8. Checks cosign's member order on the way. Returns the key.
 */
static EVP_PKEY *
test_sig_cosign_decrypt(
    const char *pemtext, const char *label, const char *pass, long long want_n)
{
	char begin[128], end[128], *body, *json;
	const char *b, *e;
	size_t jsonlen, saltlen, noncelen, ctlen;
	unsigned char *salt, *nonce, *ct, *plain, key[32];
	const unsigned char *p;
	json_t *root;
	json_error_t jerr;
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *pkey;
	const char *line;

	snprintf(begin, sizeof(begin), "-----BEGIN %s-----\n", label);
	snprintf(end, sizeof(end), "-----END %s-----\n", label);
	assert_memory_equal(pemtext, begin, strlen(begin));
	b = pemtext + strlen(begin);
	e = strstr(b, end);
	assert_non_null(e);
	assert_string_equal(e, end);
	/* 64-column lines, the last one shorter or equal. */
	for (line = b; line < e;) {
		const char *nl = strchr(line, '\n');

		assert_non_null(nl);
		assert_true(nl - line <= 64);
		if (nl + 1 < e)
			assert_int_equal(nl - line, 64);
		line = nl + 1;
	}
	body = strndup(b, (size_t)(e - b));
	assert_non_null(body);
	json = (char *)test_sig_unb64(body, &jsonlen);
	json[jsonlen] = '\0';
	free(body);

	/* Go's struct order: kdf{name, params{N,r,p}, salt}, cipher, ct. */
	{
		char prefix[128];

		snprintf(prefix, sizeof(prefix),
		    "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":%lld,"
		    "\"r\":8,\"p\":1},\"salt\":\"",
		    want_n);
		assert_memory_equal(json, prefix, strlen(prefix));
		assert_non_null(strstr(json,
		    "\"},\"cipher\":{\"name\":\"nacl/"
		    "secretbox\",\"nonce\":\""));
		assert_true(strstr(json, "\"cipher\"") <
		    strstr(json, "\"ciphertext\""));
		assert_int_equal(json[jsonlen - 1], '}');
	}
	root = json_loadb(json, jsonlen, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(root);
	salt = test_sig_unb64(json_string_value(json_object_get(
				  json_object_get(root, "kdf"), "salt")),
	    &saltlen);
	nonce = test_sig_unb64(json_string_value(json_object_get(
				   json_object_get(root, "cipher"), "nonce")),
	    &noncelen);
	ct = test_sig_unb64(
	    json_string_value(json_object_get(root, "ciphertext")), &ctlen);
	assert_int_equal(saltlen, 32);
	assert_int_equal(noncelen, 24);
	assert_true(ctlen > 16);
	assert_int_equal(EVP_PBE_scrypt(pass, strlen(pass), salt, saltlen,
			     (uint64_t)want_n, 8, 1, 256u << 20, key, 32),
	    1);
	plain = malloc(ctlen - 16);
	assert_non_null(plain);
	assert_true(sodium_init() >= 0);
	assert_int_equal(
	    crypto_secretbox_open_easy(plain, ct, ctlen, nonce, key), 0);
	p = plain;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)(ctlen - 16));
	assert_non_null(p8);
	assert_ptr_equal(p, plain + ctlen - 16);
	pkey = EVP_PKCS82PKEY(p8);
	assert_non_null(pkey);
	PKCS8_PRIV_KEY_INFO_free(p8);
	free(plain);
	free(salt);
	free(nonce);
	free(ct);
	json_decref(root);
	free(json);
	return pkey;
}

/* An OpenSSL-only read of a PUBLIC KEY PEM file. */
static EVP_PKEY *
test_sig_openssl_pub(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	assert_non_null(f);
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

static void
test_sig_key_roundtrip(void **state)
{
	char dir[256], priv[512], pub[512], err[SIG_ERR_MAX], *text, *b64;
	EVP_PKEY *gen, *loaded, *pubk, *indep, *other, *opub;
	struct stat sb;
	size_t len;
	const char *msg = "payload bytes";

	(void)state;
	test_sig_tmpdir(dir, sizeof(dir));
	snprintf(priv, sizeof(priv), "%s/cosign.key", dir);
	snprintf(pub, sizeof(pub), "%s/cosign.pub", dir);
	gen = sig_key_generate(err, sizeof(err));
	assert_non_null(gen);
	assert_int_equal(sig_key_write_pair(
			     gen, priv, pub, "s3cret", 6, 0, err, sizeof(err)),
	    SIG_KEY_OK);
	assert_int_equal(stat(priv, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(pub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_int_equal(test_sig_count_entries(dir), 2);

	/* Load back, sign, verify with the written public key. */
	assert_int_equal(sig_key_load_private_file(
			     priv, "s3cret", 6, &loaded, err, sizeof(err)),
	    SIG_KEY_OK);
	assert_int_equal(
	    sig_key_load_public_file(pub, &pubk, err, sizeof(err)), SIG_KEY_OK);
	assert_true(sig_key_match(loaded, pubk));
	assert_true(sig_key_match(gen, pubk));
	assert_int_equal(
	    sig_ecdsa_sign(loaded, msg, strlen(msg), &b64, err, sizeof(err)),
	    0);
	assert_int_equal(sig_ecdsa_verify(pubk, msg, strlen(msg), b64,
			     strlen(b64), err, sizeof(err)),
	    SIG_ECDSA_OK);
	free(b64);

	/* Wrong passphrase (and the empty one) is told apart. */
	err[0] = '\0';
	EVP_PKEY_free(loaded);
	loaded = NULL;
	assert_int_equal(sig_key_load_private_file(
			     priv, "s3cre", 5, &loaded, err, sizeof(err)),
	    SIG_KEY_ERR_PASSPHRASE);
	assert_null(loaded);
	assert_non_null(strstr(err, "wrong passphrase"));
	assert_non_null(strstr(err, priv));
	assert_int_equal(
	    sig_key_load_private_file(priv, "", 0, &loaded, err, sizeof(err)),
	    SIG_KEY_ERR_PASSPHRASE);
	assert_string_equal(
	    sig_key_status_str(SIG_KEY_ERR_PASSPHRASE), "wrong passphrase");

	/* The file decrypts with plain scrypt + secretbox, matches .pub. */
	text = test_sig_read(priv, &len);
	indep = test_sig_cosign_decrypt(
	    text, "ENCRYPTED COSIGN PRIVATE KEY", "s3cret", 32768);
	free(text);
	opub = test_sig_openssl_pub(pub);
	assert_int_equal(EVP_PKEY_eq(indep, opub), 1);
	assert_int_equal(EVP_PKEY_eq(indep, gen), 1);
	EVP_PKEY_free(indep);
	EVP_PKEY_free(opub);

	/* No overwrite unless asked; nothing changes on refusal. */
	other = sig_key_generate(err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(
	    sig_key_write_pair(other, priv, pub, "x", 1, 0, err, sizeof(err)),
	    SIG_KEY_ERR_EXISTS);
	assert_int_equal(test_sig_count_entries(dir), 2);
	assert_int_equal(sig_key_load_private_file(
			     priv, "s3cret", 6, &loaded, err, sizeof(err)),
	    SIG_KEY_OK);
	assert_true(sig_key_match(loaded, pubk));
	EVP_PKEY_free(loaded);
	/* Only the public file present still refuses. */
	assert_int_equal(unlink(priv), 0);
	assert_int_equal(
	    sig_key_write_pair(other, priv, pub, "x", 1, 0, err, sizeof(err)),
	    SIG_KEY_ERR_EXISTS);
	assert_int_equal(test_sig_count_entries(dir), 1);
	assert_int_equal(
	    sig_key_write_pair(other, priv, pub, "x", 1, 1, err, sizeof(err)),
	    SIG_KEY_OK);
	assert_int_equal(test_sig_count_entries(dir), 2);
	assert_int_equal(stat(priv, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(
	    sig_key_load_private_file(priv, "x", 1, &loaded, err, sizeof(err)),
	    SIG_KEY_OK);
	assert_true(sig_key_match(loaded, other));
	assert_false(sig_key_match(loaded, pubk));
	EVP_PKEY_free(loaded);

	/* Unwritable place: an I/O error, no stray files. */
	snprintf(priv, sizeof(priv), "%s/missing/cosign.key", dir);
	assert_int_equal(
	    sig_key_write_pair(other, priv, pub, "x", 1, 1, err, sizeof(err)),
	    SIG_KEY_ERR_IO);
	assert_int_equal(test_sig_count_entries(dir), 2);

	EVP_PKEY_free(other);
	EVP_PKEY_free(pubk);
	EVP_PKEY_free(gen);
	test_sig_rmtree(dir);
}

/*
 * Independent encrypter for cosign key files, for parameters and
 * spellings our writer never produces. names: kdf, params, N, r, p, salt,
 * cipher, nonce, ciphertext, name (two "name"s share the last entry).
 */
static char *
test_sig_cosign_encrypt(EVP_PKEY *key, const char *label, const char *pass,
    long long n, long long r, const char *const names[10])
{
	unsigned char *der = NULL, salt[32], nonce[24], skey[32], *ct;
	char *bs, *bn, *bc, *json, *b64, *pem;
	int derlen;
	size_t ctlen, b64len, i, o, cap;
	json_t *root;
	PKCS8_PRIV_KEY_INFO *p8;

	p8 = EVP_PKEY2PKCS8(key);
	assert_non_null(p8);
	derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	assert_true(derlen > 0);
	PKCS8_PRIV_KEY_INFO_free(p8);
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	assert_int_equal(
	    EVP_PBE_scrypt(pass, strlen(pass), salt, 32,
		(uint64_t)(n > 0 ? n : 1024), (uint64_t)(r > 0 ? r : 8), 1,
		512u << 20, skey, 32),
	    1);
	ctlen = 16 + (size_t)derlen;
	ct = malloc(ctlen);
	assert_non_null(ct);
	assert_int_equal(
	    crypto_secretbox_easy(ct, der, (size_t)derlen, nonce, skey), 0);
	OPENSSL_free(der);
	bs = sig_b64_encode(salt, 32, NULL);
	bn = sig_b64_encode(nonce, 24, NULL);
	bc = sig_b64_encode(ct, ctlen, NULL);
	root = json_pack("{s:{s:s,s:{s:I,s:I,s:i},s:s},s:{s:s,s:s},s:s}",
	    names[0], names[9], "scrypt", names[1], names[2], (json_int_t)n,
	    names[3], (json_int_t)r, names[4], 1, names[5], bs, names[6],
	    names[9], "nacl/secretbox", names[7], bn, names[8], bc);
	assert_non_null(root);
	json = json_dumps(root, JSON_COMPACT);
	assert_non_null(json);
	b64 = sig_b64_encode(json, strlen(json), &b64len);
	cap = b64len + b64len / 64 + 200;
	pem = malloc(cap);
	assert_non_null(pem);
	o = (size_t)snprintf(pem, cap, "-----BEGIN %s-----\n", label);
	for (i = 0; i < b64len; i += 64) {
		size_t k = b64len - i < 64 ? b64len - i : 64;

		memcpy(pem + o, b64 + i, k);
		o += k;
		pem[o++] = '\n';
	}
	snprintf(pem + o, cap - o, "-----END %s-----\n", label);
	free(bs);
	free(bn);
	free(bc);
	free(ct);
	free(json);
	free(b64);
	json_decref(root);
	return pem;
}

static void
test_sig_key_cosign_variants(void **state)
{
	static const char *const std[10] = {"kdf", "params", "N", "r", "p",
	    "salt", "cipher", "nonce", "ciphertext", "name"};
	static const char *const upper[10] = {"KDF", "Params", "n", "R", "P",
	    "SALT", "Cipher", "NONCE", "CipherText", "NAME"};
	static const struct {
		const char *label;
		long long n, r;
		const char *const *names;
		enum sig_key_status want;
	} cases[] = {
	    {"ENCRYPTED COSIGN PRIVATE KEY", 32768, 8, std, SIG_KEY_OK},
	    {"ENCRYPTED SIGSTORE PRIVATE KEY", 65536, 8, std, SIG_KEY_OK},
	    {"ENCRYPTED SIGSTORE PRIVATE KEY", 131072, 8, std, SIG_KEY_OK},
	    {"ENCRYPTED COSIGN PRIVATE KEY", 32768, 8, upper, SIG_KEY_OK},
	    {"ENCRYPTED COSIGN PRIVATE KEY", 16384, 8, std, SIG_KEY_ERR_FORMAT},
	    {"ENCRYPTED COSIGN PRIVATE KEY", 32768, 16, std,
		SIG_KEY_ERR_FORMAT},
	    {"ENCRYPTED FOO PRIVATE KEY", 32768, 8, std, SIG_KEY_ERR_FORMAT},
	};
	char err[SIG_ERR_MAX], *pem, *enc;
	EVP_PKEY *key, *got, *pub;
	size_t i, len;

	(void)state;
	assert_true(sodium_init() >= 0);
	key = sig_key_generate(err, sizeof(err));
	assert_non_null(key);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum sig_key_status st;

		pem = test_sig_cosign_encrypt(key, cases[i].label, "pw",
		    cases[i].n, cases[i].r, cases[i].names);
		got = NULL;
		st = sig_key_load_private(
		    pem, strlen(pem), "pw", 2, &got, err, sizeof(err));
		if (st != cases[i].want)
			fail_msg("case %zu: got %d want %d: %s", i, (int)st,
			    (int)cases[i].want, err);
		if (st == SIG_KEY_OK) {
			assert_true(sig_key_match(got, key));
			EVP_PKEY_free(got);
			assert_int_equal(sig_key_load_private(pem, strlen(pem),
					     "PW", 2, &got, err, sizeof(err)),
			    SIG_KEY_ERR_PASSPHRASE);
			assert_null(got);
		} else {
			assert_null(got);
		}
		free(pem);
	}

	/* Our own encoder with the non-default parameters. */
	assert_int_equal(
	    sig_key_encode_private(key, "pw", 2, SIG_KEY_LABEL_SIGSTORE, 65536,
		&enc, &len, err, sizeof(err)),
	    SIG_KEY_OK);
	assert_int_equal(strlen(enc), len);
	got = test_sig_cosign_decrypt(
	    enc, "ENCRYPTED SIGSTORE PRIVATE KEY", "pw", 65536);
	assert_int_equal(EVP_PKEY_eq(got, key), 1);
	EVP_PKEY_free(got);
	assert_int_equal(
	    sig_key_load_private(enc, len, "pw", 2, &got, err, sizeof(err)),
	    SIG_KEY_OK);
	EVP_PKEY_free(got);
	/* A flipped ciphertext byte fails the MAC like a wrong passphrase. */
	{
		char *mid = enc + len / 2;

		*mid = *mid == 'A' ? 'B' : 'A';
		assert_int_not_equal(sig_key_load_private(enc, len, "pw", 2,
					 &got, err, sizeof(err)),
		    SIG_KEY_OK);
		assert_null(got);
	}
	free(enc);
	assert_int_equal(
	    sig_key_encode_private(key, "pw", 2, SIG_KEY_LABEL_COSIGN, 1024,
		&enc, &len, err, sizeof(err)),
	    SIG_KEY_ERR_FORMAT);
	assert_null(enc);

	/* Ambiguous member names (differ only in case) are refused. */
	{
		static const char *const dup[10] = {"kdf", "params", "N", "r",
		    "p", "salt", "cipher", "nonce", "ciphertext", "name"};
		json_t *j;
		char *body, *b64, *text;
		unsigned char *raw;
		size_t rawlen, blen;

		pem = test_sig_cosign_encrypt(
		    key, "ENCRYPTED COSIGN PRIVATE KEY", "pw", 32768, 8, dup);
		body = strchr(pem, '\n') + 1;
		*strstr(body, "-----END") = '\0';
		assert_int_equal(sig_b64_decode(body, strlen(body),
				     SIG_B64_SKIP_WS, &raw, &rawlen),
		    0);
		j = json_loadb((char *)raw, rawlen, 0, NULL);
		assert_non_null(j);
		json_object_set(j, "KDF", json_object_get(j, "kdf"));
		text = json_dumps(j, JSON_COMPACT);
		b64 = sig_b64_encode(text, strlen(text), &blen);
		free(pem);
		pem = malloc(blen + 100);
		snprintf(pem, blen + 100,
		    "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n%s\n"
		    "-----END ENCRYPTED COSIGN PRIVATE KEY-----\n",
		    b64);
		assert_int_equal(sig_key_load_private(pem, strlen(pem), "pw", 2,
				     &got, err, sizeof(err)),
		    SIG_KEY_ERR_FORMAT);
		assert_non_null(strstr(err, "case"));
		free(pem);
		free(b64);
		free(text);
		free(raw);
		json_decref(j);
	}

	/* Public half. */
	assert_int_equal(
	    sig_key_encode_public(key, &enc, &len, err, sizeof(err)),
	    SIG_KEY_OK);
	assert_memory_equal(enc, "-----BEGIN PUBLIC KEY-----\n", 27);
	assert_int_equal(
	    sig_key_load_public(enc, len, &pub, err, sizeof(err)), SIG_KEY_OK);
	assert_true(sig_key_match(key, pub));
	EVP_PKEY_free(pub);
	free(enc);
	EVP_PKEY_free(key);
}

static void
test_sig_key_files(void **state)
{
	static const struct {
		const char *file;
		int is_public;
		const char *pass;
		enum sig_key_status want;
		int matches_test; /* 1: same key as cases/test.pub */
	} cases[] = {
	    {"test.key", 0, TEST_SIG_PASS, SIG_KEY_OK, 1},
	    {"test.key", 0, "wrong", SIG_KEY_ERR_PASSPHRASE, 0},
	    {"test-sigstore-65536.key", 0, TEST_SIG_PASS, SIG_KEY_OK, 1},
	    {"test-sigstore-65536.key", 0, "", SIG_KEY_ERR_PASSPHRASE, 0},
	    {"test-pkcs8.pem", 0, "", SIG_KEY_OK, 1},
	    {"test-pkcs8.pem", 0, "ignored", SIG_KEY_OK, 1},
	    {"test-sec1.pem", 0, "", SIG_KEY_OK, 1},
	    {"test-sec1-enc.pem", 0, TEST_SIG_PASS, SIG_KEY_OK, 1},
	    {"test-sec1-enc.pem", 0, "wrong", SIG_KEY_ERR_PASSPHRASE, 0},
	    {"test-enc-pkcs8.pem", 0, TEST_SIG_PASS, SIG_KEY_OK, 1},
	    {"test-enc-pkcs8.pem", 0, "wrong", SIG_KEY_ERR_PASSPHRASE, 0},
	    {"p384-pkcs8.pem", 0, "", SIG_KEY_ERR_TYPE, 0},
	    {"test.pub", 0, "", SIG_KEY_ERR_FORMAT, 0},
	    {"nonexistent.key", 0, "", SIG_KEY_ERR_IO, 0},
	    {"test.pub", 1, NULL, SIG_KEY_OK, 1},
	    {"other.pub", 1, NULL, SIG_KEY_OK, 0},
	    {"p384.pub", 1, NULL, SIG_KEY_ERR_TYPE, 0},
	    {"rsa.pub", 1, NULL, SIG_KEY_ERR_TYPE, 0},
	    {"test-pkcs8.pem", 1, NULL, SIG_KEY_ERR_FORMAT, 0},
	    {"test.key", 1, NULL, SIG_KEY_ERR_FORMAT, 0},
	    {"nonexistent.pub", 1, NULL, SIG_KEY_ERR_IO, 0},
	};
	char path[TEST_SIG_PATH_MAX], err[SIG_ERR_MAX];
	EVP_PKEY *test_pub, *k;
	size_t i;
	enum sig_key_status st;

	(void)state;
	test_pub = test_sig_pub(TEST_SIG_DIR "/cases/test.pub");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(
		    path, sizeof(path), TEST_SIG_DIR "/keys/%s", cases[i].file);
		k = NULL;
		err[0] = '\0';
		if (cases[i].is_public)
			st = sig_key_load_public_file(
			    path, &k, err, sizeof(err));
		else
			st = sig_key_load_private_file(path, cases[i].pass,
			    strlen(cases[i].pass), &k, err, sizeof(err));
		print_message("%s %s: %s\n",
		    cases[i].is_public ? "pub" : "priv", cases[i].file, err);
		if (st != cases[i].want)
			fail_msg("%s: got %s, want %s: %s", cases[i].file,
			    sig_key_status_str(st),
			    sig_key_status_str(cases[i].want), err);
		if (st == SIG_KEY_OK) {
			assert_non_null(k);
			assert_int_equal(
			    sig_key_match(k, test_pub), cases[i].matches_test);
		} else {
			assert_null(k);
			assert_non_null(strstr(err, cases[i].file));
		}
		if (st == SIG_KEY_ERR_TYPE)
			assert_non_null(strstr(err, "P-256"));
		EVP_PKEY_free(k);
	}
	EVP_PKEY_free(test_pub);
}

static void
test_sig_key_pem_edges(void **state)
{
	char *pub, *buf, err[SIG_ERR_MAX];
	size_t len, i, o;
	EVP_PKEY *k;

	(void)state;
	pub = test_sig_read(TEST_SIG_DIR "/cases/test.pub", &len);

	/* Text before the block, CRLF line ends. */
	buf = malloc(2 * len + 64);
	assert_non_null(buf);
	o = (size_t)sprintf(buf, "# comment\r\n");
	for (i = 0; i < len; i++) {
		if (pub[i] == '\n')
			buf[o++] = '\r';
		buf[o++] = pub[i];
	}
	assert_int_equal(
	    sig_key_load_public(buf, o, &k, err, sizeof(err)), SIG_KEY_OK);
	EVP_PKEY_free(k);

	/* BEGIN not at a line start; truncated; garbage body; empty. */
	o = (size_t)sprintf(buf, "xx%s", pub);
	assert_int_equal(sig_key_load_public(buf, o, &k, err, sizeof(err)),
	    SIG_KEY_ERR_FORMAT);
	assert_int_equal(
	    sig_key_load_public(pub, len / 2, &k, err, sizeof(err)),
	    SIG_KEY_ERR_FORMAT);
	o = (size_t)sprintf(buf,
	    "-----BEGIN PUBLIC KEY-----\nAAAA\n"
	    "-----END PUBLIC KEY-----\n");
	assert_int_equal(sig_key_load_public(buf, o, &k, err, sizeof(err)),
	    SIG_KEY_ERR_FORMAT);
	o = (size_t)sprintf(buf,
	    "-----BEGIN PUBLIC KEY-----\n!!!!\n"
	    "-----END PUBLIC KEY-----\n");
	assert_int_equal(sig_key_load_public(buf, o, &k, err, sizeof(err)),
	    SIG_KEY_ERR_FORMAT);
	o = (size_t)sprintf(buf,
	    "-----BEGIN PUBLIC KEY-----\n"
	    "-----END PRIVATE KEY-----\n");
	assert_int_equal(sig_key_load_public(buf, o, &k, err, sizeof(err)),
	    SIG_KEY_ERR_FORMAT);
	assert_int_equal(sig_key_load_public("", 0, &k, err, sizeof(err)),
	    SIG_KEY_ERR_FORMAT);
	assert_int_equal(
	    sig_key_load_private("", 0, "", 0, &k, err, sizeof(err)),
	    SIG_KEY_ERR_FORMAT);
	assert_null(k);
	free(buf);
	free(pub);
}

/* ------------------------------------------------------------------ */
/* ECDSA */

/* DER -> base64 of r||s, with OpenSSL directly. */
static char *
test_sig_der_to_rs_b64(const unsigned char *der, size_t len)
{
	ECDSA_SIG *s;
	const unsigned char *p = der;
	unsigned char rs[64];
	char *b64;

	s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	assert_non_null(s);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, 32), 32);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + 32, 32), 32);
	ECDSA_SIG_free(s);
	b64 = sig_b64_encode(rs, 64, NULL);
	assert_non_null(b64);
	return b64;
}

static void
test_sig_ecdsa(void **state)
{
	const char *msg = "{\"critical\":{}}", *msg2 = "{\"critical\":{ }}";
	char err[SIG_ERR_MAX], *b64, *rs, *t;
	unsigned char *der, *der2;
	size_t derlen, der2len;
	EVP_PKEY *key, *other, *p384;
	EVP_MD_CTX *ctx;
	int i;

	(void)state;
	key = sig_key_generate(err, sizeof(err));
	other = sig_key_generate(err, sizeof(err));
	assert_non_null(key);
	assert_non_null(other);
	for (i = 0; i < 20; i++) {
		assert_int_equal(sig_ecdsa_sign(key, msg, strlen(msg), &b64,
				     err, sizeof(err)),
		    0);
		/* Std padded base64 of DER (starts MEQCI / MEUCI / MEYCI). */
		assert_memory_equal(b64, "ME", 2);
		assert_int_equal(strlen(b64) % 4, 0);
		der = test_sig_unb64(b64, &derlen);
		assert_true(derlen >= 8 && derlen <= 72);
		assert_int_equal(der[0], 0x30);

		/* OpenSSL verifies it directly. */
		ctx = EVP_MD_CTX_new();
		assert_non_null(ctx);
		assert_int_equal(
		    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key),
		    1);
		assert_int_equal(EVP_DigestVerify(ctx, der, derlen,
				     (const unsigned char *)msg, strlen(msg)),
		    1);
		EVP_MD_CTX_free(ctx);

		assert_int_equal(sig_ecdsa_verify(key, msg, strlen(msg), b64,
				     strlen(b64), err, sizeof(err)),
		    SIG_ECDSA_OK);
		assert_int_equal(sig_ecdsa_verify(key, msg2, strlen(msg2), b64,
				     strlen(b64), err, sizeof(err)),
		    SIG_ECDSA_BAD);
		assert_int_equal(sig_ecdsa_verify(other, msg, strlen(msg), b64,
				     strlen(b64), err, sizeof(err)),
		    SIG_ECDSA_BAD);

		/* r||s is accepted, and is the same signature. */
		rs = test_sig_der_to_rs_b64(der, derlen);
		assert_int_equal(sig_ecdsa_verify(key, msg, strlen(msg), rs,
				     strlen(rs), err, sizeof(err)),
		    SIG_ECDSA_OK);
		assert_int_equal(sig_ecdsa_verify(key, msg2, strlen(msg2), rs,
				     strlen(rs), err, sizeof(err)),
		    SIG_ECDSA_BAD);
		assert_int_equal(sig_ecdsa_decode(rs, strlen(rs), &der2,
				     &der2len, err, sizeof(err)),
		    SIG_ECDSA_OK);
		assert_int_equal(der2len, derlen);
		assert_memory_equal(der2, der, derlen);
		free(der2);
		free(rs);

		/* Malformed: truncated base64, truncated DER, bad chars. */
		assert_int_equal(sig_ecdsa_verify(key, msg, strlen(msg), b64,
				     strlen(b64) - 1, err, sizeof(err)),
		    SIG_ECDSA_MALFORMED);
		t = sig_b64_encode(der, derlen - 1, NULL);
		assert_int_equal(sig_ecdsa_verify(key, msg, strlen(msg), t,
				     strlen(t), err, sizeof(err)),
		    SIG_ECDSA_MALFORMED);
		free(t);
		/* DER with a trailing byte is not DER and not r||s. */
		der = realloc(der, derlen + 1);
		der[derlen] = 0;
		t = sig_b64_encode(der, derlen + 1, NULL);
		assert_int_equal(sig_ecdsa_verify(key, msg, strlen(msg), t,
				     strlen(t), err, sizeof(err)),
		    SIG_ECDSA_MALFORMED);
		free(t);
		free(der);
		free(b64);
	}
	assert_int_equal(
	    sig_ecdsa_verify(key, msg, strlen(msg), "", 0, err, sizeof(err)),
	    SIG_ECDSA_MALFORMED);
	assert_int_equal(sig_ecdsa_verify(key, msg, strlen(msg), "!!!!", 4, err,
			     sizeof(err)),
	    SIG_ECDSA_MALFORMED);
	assert_int_equal(sig_ecdsa_verify(key, msg, strlen(msg), "AAAAAAAA", 8,
			     err, sizeof(err)),
	    SIG_ECDSA_MALFORMED);
	/* URL-safe alphabet is not ours. */
	assert_int_equal(sig_ecdsa_verify(key, msg, strlen(msg), "MEUCIQ-_", 8,
			     err, sizeof(err)),
	    SIG_ECDSA_MALFORMED);
	/* A well-formed r||s of zeros does not verify. */
	{
		unsigned char z[64];
		char *zb;

		memset(z, 0, sizeof(z));
		zb = sig_b64_encode(z, 64, NULL);
		assert_int_equal(sig_ecdsa_verify(key, msg, strlen(msg), zb,
				     strlen(zb), err, sizeof(err)),
		    SIG_ECDSA_BAD);
		free(zb);
	}
	/* A key of another type never verifies an ECDSA signature. */
	{
		EVP_PKEY *rsa =
		    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

		assert_non_null(rsa);
		assert_int_equal(sig_ecdsa_sign(key, msg, strlen(msg), &b64,
				     err, sizeof(err)),
		    0);
		assert_int_not_equal(sig_ecdsa_verify(rsa, msg, strlen(msg),
					 b64, strlen(b64), err, sizeof(err)),
		    SIG_ECDSA_OK);
		free(b64);
		EVP_PKEY_free(rsa);
	}
	assert_int_equal(ERR_peek_error(), 0);

	/* Signing refuses other curves. */
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(p384);
	b64 = (char *)"x";
	assert_int_equal(
	    sig_ecdsa_sign(p384, msg, strlen(msg), &b64, err, sizeof(err)), -1);
	assert_null(b64);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/* ------------------------------------------------------------------ */
/* signature manifests */

static json_t *
test_sig_json(const char *buf, size_t len)
{
	json_t *j = json_loadb(buf, len, 0, NULL);

	assert_non_null(j);
	return j;
}

static void
test_sig_mfst_worked_example(void **state)
{
	char *payload, *sig, *cfg, *man, err[SIG_ERR_MAX];
	size_t plen, slen, clen, mlen;
	struct sig_mfst_update upd;
	struct sig_mfst *m;
	char d[SIG_DIGEST_SIZE];

	(void)state;
	payload = test_sig_read(TEST_SIG_DIR "/mfst/worked-payload", &plen);
	sig = test_sig_read(TEST_SIG_DIR "/mfst/worked-signature", &slen);
	cfg = test_sig_read(TEST_SIG_DIR "/mfst/worked-config.json", &clen);
	man = test_sig_read(TEST_SIG_DIR "/mfst/worked-manifest.json", &mlen);
	assert_int_equal(sig_mfst_append(NULL, 0, NULL, 0, payload, plen, sig,
			     &upd, err, sizeof(err)),
	    0);
	assert_false(upd.skipped);
	assert_string_equal(upd.payload_digest,
	    "sha256:36f1bb2cafc2f69778d125ef71fae8af9950d470c37c047583f59795bf"
	    "964eea");
	/* cosign's config, byte for byte (233 bytes, sha256:413e...). */
	assert_int_equal(upd.config_len, clen);
	assert_memory_equal(upd.config, cfg, clen);
	assert_string_equal(upd.config_digest,
	    "sha256:413e405cb0d471ee62f03c3dd8317ff93ac3004a38ae6128e09e02cf53"
	    "bc6b25");
	assert_int_equal(upd.mfst_len, mlen);
	assert_memory_equal(upd.mfst, man, mlen);
	assert_int_equal(sig_digest_sha256(upd.mfst, upd.mfst_len, d), 0);
	assert_string_equal(upd.mfst_digest, d);

	assert_int_equal(
	    sig_mfst_parse(upd.mfst, upd.mfst_len, &m, err, sizeof(err)), 0);
	assert_int_equal(m->nlayers, 1);
	assert_string_equal(m->layers[0].media_type, SIG_MT_SIMPLESIGNING);
	assert_string_equal(m->layers[0].digest, upd.payload_digest);
	assert_int_equal(m->layers[0].size, 245);
	assert_string_equal(m->layers[0].signature, sig);
	assert_false(m->layers[0].has_bundle);
	assert_false(m->layers[0].has_certificate);
	assert_string_equal(m->config_digest, upd.config_digest);
	assert_int_equal(m->config_size, 233);
	sig_mfst_free(m);
	sig_mfst_update_clear(&upd);
	free(payload);
	free(sig);
	free(cfg);
	free(man);
}

static void
test_sig_mfst_append(void **state)
{
	char *p1, *p2, *s1, *s2 = NULL, *s3 = NULL, err[SIG_ERR_MAX];
	size_t l1, l2, sl;
	struct sig_mfst_update u1, u2, u3, u4;
	struct sig_mfst *m;
	json_t *cfg, *man, *diff, *hist;
	EVP_PKEY *key;

	(void)state;
	key = sig_key_generate(err, sizeof(err));
	assert_non_null(key);
	p1 = test_sig_read(TEST_SIG_DIR "/mfst/worked-payload", &l1);
	s1 = test_sig_read(TEST_SIG_DIR "/mfst/worked-signature", &sl);
	p2 = test_sig_read(TEST_SIG_DIR "/payload/build-cimage.json", &l2);
	assert_int_equal(sig_ecdsa_sign(key, p2, l2, &s2, err, sizeof(err)), 0);
	assert_int_equal(sig_mfst_append(NULL, 0, NULL, 0, p1, l1, s1, &u1, err,
			     sizeof(err)),
	    0);

	/* Second signer: 2 layers, 2 diff_ids, 2 history entries. */
	assert_int_equal(sig_mfst_append(u1.mfst, u1.mfst_len, u1.config,
			     u1.config_len, p2, l2, s2, &u2, err, sizeof(err)),
	    0);
	assert_false(u2.skipped);
	assert_int_equal(
	    sig_mfst_parse(u2.mfst, u2.mfst_len, &m, err, sizeof(err)), 0);
	assert_int_equal(m->nlayers, 2);
	assert_string_equal(m->layers[0].signature, s1);
	assert_string_equal(m->layers[1].signature, s2);
	assert_string_equal(m->layers[1].digest, u2.payload_digest);
	assert_int_equal(m->layers[1].size, l2);
	assert_string_equal(m->config_digest, u2.config_digest);
	assert_int_equal(m->config_size, u2.config_len);
	sig_mfst_free(m);
	cfg = test_sig_json(u2.config, u2.config_len);
	diff = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	hist = json_object_get(cfg, "history");
	assert_int_equal(json_array_size(diff), 2);
	assert_int_equal(json_array_size(hist), 2);
	assert_string_equal(
	    json_string_value(json_array_get(diff, 0)), u1.payload_digest);
	assert_string_equal(
	    json_string_value(json_array_get(diff, 1)), u2.payload_digest);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(hist, 1), "created")),
	    "0001-01-01T00:00:00Z");
	json_decref(cfg);
	/* Compact, the first layer kept byte for byte. */
	assert_null(memchr(u2.mfst, '\n', u2.mfst_len));
	assert_null(memchr(u2.mfst, ' ', u2.mfst_len));
	{
		const char *l = strstr(u1.mfst, "\"layers\":[");
		char *first;

		assert_non_null(l);
		first = strndup(l, strlen(l) - 2); /* without "]}" */
		assert_non_null(first);
		assert_non_null(strstr(u2.mfst, first));
		free(first);
	}

	/* The same payload and signature again: skipped. */
	assert_int_equal(sig_mfst_append(u2.mfst, u2.mfst_len, u2.config,
			     u2.config_len, p1, l1, s1, &u3, err, sizeof(err)),
	    0);
	assert_true(u3.skipped);
	assert_null(u3.mfst);
	assert_null(u3.config);
	assert_string_equal(u3.payload_digest, u1.payload_digest);
	sig_mfst_update_clear(&u3);

	/* Same payload, another signature: appended. */
	assert_int_equal(sig_ecdsa_sign(key, p1, l1, &s3, err, sizeof(err)), 0);
	assert_int_equal(sig_mfst_append(u2.mfst, u2.mfst_len, u2.config,
			     u2.config_len, p1, l1, s3, &u3, err, sizeof(err)),
	    0);
	assert_false(u3.skipped);
	assert_int_equal(
	    sig_mfst_parse(u3.mfst, u3.mfst_len, &m, err, sizeof(err)), 0);
	assert_int_equal(m->nlayers, 3);
	sig_mfst_free(m);

	/* No config given: rebuilt from the manifest's layers. */
	assert_int_equal(sig_mfst_append(u2.mfst, u2.mfst_len, NULL, 0, p1, l1,
			     s3, &u4, err, sizeof(err)),
	    0);
	cfg = test_sig_json(u4.config, u4.config_len);
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(cfg, "rootfs"), "diff_ids")),
	    3);
	assert_int_equal(json_array_size(json_object_get(cfg, "history")), 3);
	json_decref(cfg);
	man = test_sig_json(u4.mfst, u4.mfst_len);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(man, "config"), "size")),
	    u4.config_len);
	json_decref(man);
	sig_mfst_update_clear(&u4);

	/* Refusals: bad signature text, empty payload, bad old manifest. */
	assert_int_equal(sig_mfst_append(NULL, 0, NULL, 0, p1, l1, "!!", &u4,
			     err, sizeof(err)),
	    -1);
	assert_null(u4.mfst);
	assert_int_equal(
	    sig_mfst_append(NULL, 0, NULL, 0, p1, 0, s1, &u4, err, sizeof(err)),
	    -1);
	assert_int_equal(
	    sig_mfst_append("{", 1, NULL, 0, p1, l1, s1, &u4, err, sizeof(err)),
	    -1);
	assert_int_equal(sig_mfst_append(u2.mfst, u2.mfst_len, "[]", 2, p1, l1,
			     s3, &u4, err, sizeof(err)),
	    -1);
	assert_int_equal(sig_mfst_append(NULL, 0, NULL, 0, p1, l1, NULL, &u4,
			     err, sizeof(err)),
	    -1);

	sig_mfst_update_clear(&u1);
	sig_mfst_update_clear(&u2);
	sig_mfst_update_clear(&u3);
	sig_mfst_update_clear(NULL);
	free(p1);
	free(p2);
	free(s1);
	free(s2);
	free(s3);
	EVP_PKEY_free(key);
}

/* Appending to what containers/image writes (no created/history). */
static void
test_sig_mfst_append_cimage(void **state)
{
	char *man, *cfg, *p, *s, err[SIG_ERR_MAX];
	size_t ml, cl, pl, sl;
	struct sig_mfst_update u;
	json_t *c;

	(void)state;
	man = test_sig_read(TEST_SIG_DIR "/mfst/cimage-manifest.json", &ml);
	cfg = test_sig_read(TEST_SIG_DIR "/mfst/cimage-config.json", &cl);
	p = test_sig_read(TEST_SIG_DIR "/payload/build-regward.json", &pl);
	s = test_sig_read(TEST_SIG_DIR "/mfst/worked-signature", &sl);
	assert_int_equal(
	    sig_mfst_append(man, ml, cfg, cl, p, pl, s, &u, err, sizeof(err)),
	    0);
	c = test_sig_json(u.config, u.config_len);
	assert_string_equal(json_string_value(json_object_get(c, "os")), "");
	/* Existing history entries are kept; new ones are cosign's. */
	{
		static const char hcfg[] =
		    "{\"architecture\":\"\",\"created\":\"2024-05-01T00:00:"
		    "00Z\","
		    "\"history\":[{\"created\":\"2024-05-01T00:00:00Z\","
		    "\"comment\":\"first\"}],\"os\":\"\",\"rootfs\":{\"type\":"
		    "\"layers\",\"diff_ids\":[]},\"config\":{}}";
		struct sig_mfst_update u2;
		json_t *c2, *h;

		assert_int_equal(sig_mfst_append(man, ml, hcfg, strlen(hcfg), p,
				     pl, s, &u2, err, sizeof(err)),
		    0);
		c2 = test_sig_json(u2.config, u2.config_len);
		h = json_object_get(c2, "history");
		assert_int_equal(json_array_size(h), 2);
		assert_string_equal(json_string_value(json_object_get(
					json_array_get(h, 0), "comment")),
		    "first");
		assert_string_equal(json_string_value(json_object_get(
					json_array_get(h, 1), "created")),
		    "0001-01-01T00:00:00Z");
		assert_string_equal(
		    json_string_value(json_object_get(c2, "created")),
		    "2024-05-01T00:00:00Z");
		/* diff_ids always follow the layers, whatever was there. */
		assert_int_equal(
		    json_array_size(json_object_get(
			json_object_get(c2, "rootfs"), "diff_ids")),
		    2);
		json_decref(c2);
		sig_mfst_update_clear(&u2);
	}
	assert_true(json_is_object(json_object_get(c, "config")));
	assert_null(json_object_get(c, "created"));
	assert_int_equal(json_array_size(json_object_get(c, "history")), 2);
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(c, "rootfs"), "diff_ids")),
	    2);
	json_decref(c);
	/* c/image's config is kept member for member, in its order. */
	assert_memory_equal(u.config,
	    "{\"architecture\":\"\",\"os\":\"\",\"config\":{},"
	    "\"rootfs\":",
	    48);
	sig_mfst_update_clear(&u);
	free(man);
	free(cfg);
	free(p);
	free(s);
}

static void
test_sig_mfst_invalid(void **state)
{
	char **names = NULL, err[SIG_ERR_MAX], *buf;
	size_t n, i, len;
	struct sig_mfst *m;

	(void)state;
	n = test_sig_list(TEST_SIG_DIR "/mfst/invalid", ".json", 0, &names);
	assert_true(n >= 14);
	for (i = 0; i < n; i++) {
		buf = test_sig_readf(
		    &len, TEST_SIG_DIR "/mfst/invalid/%s", names[i]);
		m = (struct sig_mfst *)1;
		err[0] = '\0';
		if (sig_mfst_parse(buf, len, &m, err, sizeof(err)) == 0)
			fail_msg("invalid/%s accepted", names[i]);
		print_message("invalid/%s: %s\n", names[i], err);
		assert_null(m);
		assert_true(err[0] != '\0');
		free(buf);
	}
	test_sig_list_free(names, n);
	sig_mfst_free(NULL);
}

/* A manifest with n copies of one layer. */
static char *
test_sig_mfst_layers(size_t n, size_t *len)
{
	static const char head[] =
	    "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"size\":2,"
	    "\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77"
	    "e8310c060f61caaff8a\"},\"layers\":[";
	static const char layer[] =
	    "{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json"
	    "\",\"size\":245,\"digest\":\"sha256:36f1bb2cafc2f69778d125ef71fae"
	    "8af9950d470c37c047583f59795bf964eea\",\"annotations\":{\"dev.cos"
	    "ignproject.cosign/signature\":\"MEUC\",\"dev.sigstore.cosign/bun"
	    "dle\":\"{}\"}}";
	size_t cap = sizeof(head) + n * sizeof(layer) + 8, i, o;
	char *buf = malloc(cap);

	assert_non_null(buf);
	o = (size_t)snprintf(buf, cap, "%s", head);
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(
		    buf + o, cap - o, "%s%s", i > 0 ? "," : "", layer);
	o += (size_t)snprintf(buf + o, cap - o, "]}");
	*len = o;
	return buf;
}

static void
test_sig_mfst_limits(void **state)
{
	char *buf, *p, *s, err[SIG_ERR_MAX];
	size_t len, pl, sl;
	struct sig_mfst *m;
	struct sig_mfst_update u;

	(void)state;
	buf = test_sig_mfst_layers(SIG_MFST_LAYERS_MAX, &len);
	assert_int_equal(sig_mfst_parse(buf, len, &m, err, sizeof(err)), 0);
	assert_int_equal(m->nlayers, SIG_MFST_LAYERS_MAX);
	assert_true(m->layers[999].has_bundle);
	assert_string_equal(m->layers[999].signature, "MEUC");
	sig_mfst_free(m);
	/* A full manifest takes no more signatures. */
	p = test_sig_read(TEST_SIG_DIR "/payload/build-cimage.json", &pl);
	s = test_sig_read(TEST_SIG_DIR "/mfst/worked-signature", &sl);
	assert_int_equal(
	    sig_mfst_append(buf, len, NULL, 0, p, pl, s, &u, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "1000"));
	free(buf);
	buf = test_sig_mfst_layers(SIG_MFST_LAYERS_MAX + 1, &len);
	assert_int_equal(sig_mfst_parse(buf, len, &m, err, sizeof(err)), -1);
	assert_null(m);
	free(buf);
	/* Bytes bound. */
	len = SIG_MFST_MAX + 1;
	buf = malloc(len);
	assert_non_null(buf);
	memset(buf, ' ', len);
	assert_int_equal(sig_mfst_parse(buf, len, &m, err, sizeof(err)), -1);
	free(buf);
	free(p);
	free(s);
	/* Empty layer list is a (signature-less) manifest. */
	buf = test_sig_mfst_layers(0, &len);
	assert_int_equal(sig_mfst_parse(buf, len, &m, err, sizeof(err)), 0);
	assert_int_equal(m->nlayers, 0);
	sig_mfst_free(m);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* end to end: what regward-sign writes, the gateway accepts */

static void
test_sig_pipeline(void **state)
{
	char dir[256], priv[512], pub[512], err[SIG_ERR_MAX];
	char *mfst, *payload = NULL, *sigb64 = NULL,
		    ident[SIG_REF_IDENTITY_SIZE];
	char tag[SIG_REF_SIG_TAG_SIZE], d[SIG_DIGEST_SIZE];
	size_t mlen, plen;
	EVP_PKEY *gen, *signer, *verifier;
	struct sig_ref ref;
	struct sig_mfst_update u;
	struct sig_mfst *m;
	struct sig_trusted_key keys[1];
	struct sig_verify_out out;
	json_t *opt;

	(void)state;
	test_sig_tmpdir(dir, sizeof(dir));
	snprintf(priv, sizeof(priv), "%s/k.key", dir);
	snprintf(pub, sizeof(pub), "%s/k.pub", dir);
	gen = sig_key_generate(err, sizeof(err));
	assert_int_equal(
	    sig_key_write_pair(gen, priv, pub, "pw", 2, 0, err, sizeof(err)),
	    SIG_KEY_OK);
	assert_int_equal(
	    sig_key_load_private_file(priv, "pw", 2, &signer, err, sizeof(err)),
	    SIG_KEY_OK);
	verifier = test_sig_pub(pub);

	mfst = test_sig_read(TEST_SIG_DIR "/cases/valid/manifest.json", &mlen);
	assert_int_equal(sig_digest_sha256(mfst, mlen, d), 0);
	assert_int_equal(
	    sig_ref_parse("registry.example.com:5000/team/app:1.4.2", 0, &ref,
		err, sizeof(err)),
	    0);
	assert_int_equal(sig_ref_identity(&ref, ident, sizeof(ident)), 0);
	assert_int_equal(sig_ref_sig_tag(d, tag, sizeof(tag)), 0);
	opt = json_pack("{s:{s:s}}", SIG_OPTIONAL_SCAN, "verdict", "pass");
	assert_int_equal(sig_payload_build(ident, d, opt, NULL, -1, &payload,
			     &plen, err, sizeof(err)),
	    0);
	assert_int_equal(
	    sig_ecdsa_sign(signer, payload, plen, &sigb64, err, sizeof(err)),
	    0);
	assert_int_equal(sig_mfst_append(NULL, 0, NULL, 0, payload, plen,
			     sigb64, &u, err, sizeof(err)),
	    0);
	assert_int_equal(
	    sig_mfst_parse(u.mfst, u.mfst_len, &m, err, sizeof(err)), 0);
	keys[0].name = "ci";
	keys[0].key = verifier;
	assert_int_equal(sig_verify_layer(d, &m->layers[0], payload, plen, keys,
			     1, &out, err, sizeof(err)),
	    SIG_VERIFY_OK);
	assert_string_equal(out.key_name, "ci");
	assert_string_equal(
	    out.payload.identity, "registry.example.com:5000/team/app:1.4.2");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(out.payload.optional, SIG_OPTIONAL_SCAN),
		"verdict")),
	    "pass");
	sig_verify_out_clear(&out);
	/* A different manifest digest is a mismatch, never valid. */
	d[10] = d[10] == 'a' ? 'b' : 'a';
	assert_int_equal(sig_verify_layer(d, &m->layers[0], payload, plen, keys,
			     1, &out, err, sizeof(err)),
	    SIG_VERIFY_DIGEST_MISMATCH);
	sig_verify_out_clear(&out);
	/* A flipped payload byte: blob mismatch against the descriptor. */
	payload[20] ^= 1;
	assert_int_equal(sig_verify_layer(d, &m->layers[0], payload, plen, keys,
			     1, &out, err, sizeof(err)),
	    SIG_VERIFY_BLOB_MISMATCH);
	sig_verify_out_clear(&out);
	sig_verify_out_clear(NULL);

	json_decref(opt);
	sig_mfst_free(m);
	sig_mfst_update_clear(&u);
	free(payload);
	free(sigb64);
	free(mfst);
	EVP_PKEY_free(gen);
	EVP_PKEY_free(signer);
	EVP_PKEY_free(verifier);
	test_sig_rmtree(dir);
}

static void
test_sig_names(void **state)
{
	(void)state;
	assert_string_equal(sig_verify_result_name(SIG_VERIFY_OK), "valid");
	assert_string_equal(
	    sig_verify_result_name(SIG_VERIFY_UNTRUSTED_KEY), "untrusted_key");
	assert_string_equal(sig_verify_result_name(SIG_VERIFY_DIGEST_MISMATCH),
	    "digest_mismatch");
	assert_string_equal(sig_verify_result_name(SIG_VERIFY_NOT_A_SIGNATURE),
	    "not_a_signature");
	assert_string_equal(
	    sig_verify_result_name(SIG_VERIFY_BLOB_MISMATCH), "blob_mismatch");
	assert_string_equal(
	    sig_verify_result_name(SIG_VERIFY_BAD_SIGNATURE), "bad_signature");
	assert_string_equal(
	    sig_verify_result_name(SIG_VERIFY_BAD_PAYLOAD), "bad_payload");
	assert_string_equal(sig_verify_result_name(SIG_VERIFY_ERROR), "error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sig_shared_vectors),
	    cmocka_unit_test(test_sig_local_cases),
	    cmocka_unit_test(test_sig_b64),
	    cmocka_unit_test(test_sig_digest),
	    cmocka_unit_test(test_sig_ref),
	    cmocka_unit_test(test_sig_payload_corpus),
	    cmocka_unit_test(test_sig_payload_worked_example),
	    cmocka_unit_test(test_sig_payload_build),
	    cmocka_unit_test(test_sig_payload_limits),
	    cmocka_unit_test(test_sig_key_roundtrip),
	    cmocka_unit_test(test_sig_key_cosign_variants),
	    cmocka_unit_test(test_sig_key_files),
	    cmocka_unit_test(test_sig_key_pem_edges),
	    cmocka_unit_test(test_sig_ecdsa),
	    cmocka_unit_test(test_sig_mfst_worked_example),
	    cmocka_unit_test(test_sig_mfst_append),
	    cmocka_unit_test(test_sig_mfst_append_cimage),
	    cmocka_unit_test(test_sig_mfst_invalid),
	    cmocka_unit_test(test_sig_mfst_limits),
	    cmocka_unit_test(test_sig_pipeline),
	    cmocka_unit_test(test_sig_names),
	};

	return cmocka_run_group_tests_name("sig", tests, NULL, NULL);
}
