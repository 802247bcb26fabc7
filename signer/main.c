/*
 * regward-sign: cosign-compatible signing in CI, gated on the
 * vulnerability scan; verification as the gateway does it.
 *
 * Exit codes (docs/regward-sign.md):
 *   0 done / verified        3 scan refused the image
 *   1 verification failed    4 registry error
 *   2 usage error                 5 key or passphrase error
 *   6 an input file (report, signature, payload, manifest) is unusable
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "regward/registry.h"
#include "regward/scan.h"
#include "regward/sig.h"

#define EXIT_VERIFY 1
#define EXIT_USAGE 2
#define EXIT_SCAN 3
#define EXIT_REGISTRY 4
#define EXIT_KEY 5
#define EXIT_INPUT 6

#define MAIN_FILE_MAX ((size_t)64 << 20)
#define MAIN_KEYS_MAX 16
#define MAIN_ANN_MAX 64
#define MAIN_PASS_MAX 4096
#define MAIN_INDEX_CHILDREN_MAX 256

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST                                                         \
	"application/vnd.docker.distribution.manifest.list.v2+json"

/* Everything the command line can say. */
struct main_opts {
	const char *keys[MAIN_KEYS_MAX];
	size_t nkeys;
	const char *scan;
	const char *fail_on;
	int ignore_unfixed;
	const char *ann[MAIN_ANN_MAX];
	size_t nann;
	int recursive;
	const char *identity;
	const char *prefix;
	int force;
	const char *passphrase_file;
	const char *username;
	int password_stdin;
	const char *identity_token;
	const char *ca_cert;
	int insecure;
	const char *signature;
	const char *manifest;
	const char *layer;
	const char *arg; /* IMAGE or PAYLOAD */
};

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: regward-sign generate-key-pair [--output-key-prefix "
	    "P] "
	    "[--force]\n"
	    "       regward-sign sign --key KEY [--scan REPORT] [--fail-on "
	    "SEVERITY]\n"
	    "                [--ignore-unfixed] [-a key=value]... "
	    "[--recursive]\n"
	    "                [--identity REF] [REGISTRY OPTIONS] IMAGE\n"
	    "       regward-sign verify --key PUB [--key PUB]... [REGISTRY "
	    "OPTIONS] IMAGE\n"
	    "       regward-sign verify-blob --key PUB --signature FILE | "
	    "--layer FILE\n"
	    "                [--manifest FILE] PAYLOAD\n"
	    "       regward-sign version\n"
	    "registry options: --username U --password-stdin | "
	    "--identity-token FILE,\n"
	    "                  --ca-cert FILE, --insecure (plain http)\n"
	    "passphrase: COSIGN_PASSWORD, --passphrase-file FILE, or a prompt "
	    "on a terminal\n");
}

/* ---- small helpers ----------------------------------------------------- */

static void
main_die_oom(void)
{
	fprintf(stderr, "regward-sign: out of memory\n");
	exit(EXIT_FAILURE);
}

/* Read a whole file, at most max bytes. NULL with a message on error. */
static unsigned char *
main_read_file(const char *path, size_t max, size_t *lenp)
{
	FILE *f;
	unsigned char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;

	*lenp = 0;
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(
		    stderr, "regward-sign: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nbuf = realloc(buf, cap + 1)) == NULL)
				main_die_oom();
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len > max) {
			fprintf(stderr,
			    "regward-sign: %s: larger than %zu bytes\n", path,
			    max);
			goto bad;
		}
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "regward-sign: %s: read error\n", path);
		goto bad;
	}
	fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return buf;
bad:
	fclose(f);
	free(buf);
	return NULL;
}

/* Read a passphrase from the terminal without echo. */
static int
main_prompt_pass(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	FILE *tty;
	int ok = 0;
	size_t n;

	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return -1;
	if (tcgetattr(fileno(tty), &old) == -1) {
		fclose(tty);
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs(prompt, tty);
	fflush(tty);
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	if (fgets(buf, (int)len, tty) != NULL) {
		n = strlen(buf);
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		ok = 1;
	}
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputs("\n", tty);
	fclose(tty);
	return ok ? 0 : -1;
}

/*
 * The passphrase, from COSIGN_PASSWORD, --passphrase-file (first line,
 * one trailing newline stripped), or a prompt on a terminal (twice when
 * confirm). Returns 0 with buf filled, or -1 with a message.
 */
static int
main_get_pass(const struct main_opts *o, int confirm, char *buf, size_t len)
{
	const char *env = getenv("COSIGN_PASSWORD");
	char again[MAIN_PASS_MAX];
	unsigned char *data;
	size_t n;

	buf[0] = '\0';
	if (o->passphrase_file != NULL) {
		if ((data = main_read_file(
			 o->passphrase_file, MAIN_PASS_MAX, &n)) == NULL)
			return -1;
		data[strcspn((char *)data, "\n")] = '\0';
		snprintf(buf, len, "%s", (char *)data);
		OPENSSL_cleanse(data, n);
		free(data);
		return 0;
	}
	if (env != NULL) {
		if (strlen(env) >= len) {
			fprintf(stderr,
			    "regward-sign: COSIGN_PASSWORD: too "
			    "long\n");
			return -1;
		}
		snprintf(buf, len, "%s", env);
		return 0;
	}
	if (!isatty(STDIN_FILENO) ||
	    main_prompt_pass("Enter password for private key: ", buf, len) ==
		-1) {
		fprintf(stderr,
		    "regward-sign: no passphrase: set "
		    "COSIGN_PASSWORD or use --passphrase-file\n");
		return -1;
	}
	if (confirm) {
		if (main_prompt_pass("Enter password for private key again: ",
			again, sizeof(again)) == -1 ||
		    strcmp(again, buf) != 0) {
			OPENSSL_cleanse(again, sizeof(again));
			fprintf(stderr,
			    "regward-sign: passwords do not "
			    "match\n");
			return -1;
		}
		OPENSSL_cleanse(again, sizeof(again));
	}
	return 0;
}

/* Load the signing key, asking for a passphrase only when it is sealed. */
static EVP_PKEY *
main_load_private(const struct main_opts *o, const char *path)
{
	char pass[MAIN_PASS_MAX], err[SIG_ERR_MAX];
	unsigned char *pem;
	size_t len;
	EVP_PKEY *key = NULL;
	enum sig_key_status st;

	if ((pem = main_read_file(path, SIG_KEY_FILE_MAX, &len)) == NULL)
		return NULL;
	pass[0] = '\0';
	if (strstr((char *)pem, "ENCRYPTED") != NULL &&
	    main_get_pass(o, 0, pass, sizeof(pass)) == -1)
		goto out;
	st = sig_key_load_private(
	    pem, len, pass, strlen(pass), &key, err, sizeof(err));
	if (st != SIG_KEY_OK)
		fprintf(stderr, "regward-sign: %s: %s\n", path, err);
out:
	OPENSSL_cleanse(pass, sizeof(pass));
	OPENSSL_cleanse(pem, len);
	free(pem);
	return key;
}

/* ---- registry access --------------------------------------------------- */

static struct registry *
main_open_registry(const struct main_opts *o, const char *host)
{
	struct registry_opts ro;
	struct registry_cred *cred = NULL;
	struct registry *reg = NULL;
	char err[REGISTRY_ERR_MAX];
	unsigned char *tok;
	size_t n;
	int rc = 0;

	if (o->password_stdin) {
		if (o->username == NULL) {
			fprintf(stderr,
			    "regward-sign: --password-stdin needs "
			    "--username\n");
			return NULL;
		}
		rc = registry_cred_from_file(
		    stdin, o->username, &cred, err, sizeof(err));
	} else if (o->identity_token != NULL) {
		if ((tok = main_read_file(
			 o->identity_token, REGISTRY_PASSWORD_MAX, &n)) == NULL)
			return NULL;
		while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
			tok[--n] = '\0';
		cred = registry_cred_new(o->username ? o->username : "oidc",
		    (char *)tok, o->identity_token);
		OPENSSL_cleanse(tok, n);
		free(tok);
		if (cred == NULL) {
			fprintf(stderr,
			    "regward-sign: %s: not a usable "
			    "token\n",
			    o->identity_token);
			return NULL;
		}
	} else {
		rc = registry_cred_default(host, &cred, err, sizeof(err));
	}
	if (rc == -1) {
		fprintf(stderr, "regward-sign: credentials: %s\n", err);
		return NULL;
	}
	memset(&ro, 0, sizeof(ro));
	ro.host = host;
	ro.insecure = o->insecure;
	ro.ca_cert = o->ca_cert;
	ro.cred = cred;
	if ((reg = registry_new(&ro, err, sizeof(err))) == NULL)
		fprintf(stderr, "regward-sign: %s: %s\n", host, err);
	registry_cred_free(cred);
	return reg;
}

static int
main_registry_fail(
    const char *what, enum registry_status st, const struct registry_err *e)
{
	fprintf(stderr, "regward-sign: %s: %s%s%s\n", what,
	    registry_status_str(st), e->msg[0] ? ": " : "", e->msg);
	return EXIT_REGISTRY;
}

/* ---- sign -------------------------------------------------------------- */

/*
 * The optional object for the payload: -a annotations and the scan
 * verdict. New reference, or NULL after a message.
 */
static json_t *
main_build_optional(const struct main_opts *o, const struct scan_report *rep)
{
	json_t *opt = json_object(), *v;
	const char *eq;
	char key[256];
	size_t i;

	if (opt == NULL)
		main_die_oom();
	for (i = 0; i < o->nann; i++) {
		eq = strchr(o->ann[i], '=');
		if (eq == NULL || eq == o->ann[i] ||
		    (size_t)(eq - o->ann[i]) >= sizeof(key)) {
			fprintf(stderr,
			    "regward-sign: -a %s: expected "
			    "key=value\n",
			    o->ann[i]);
			json_decref(opt);
			return NULL;
		}
		memcpy(key, o->ann[i], (size_t)(eq - o->ann[i]));
		key[eq - o->ann[i]] = '\0';
		if (strcmp(key, SIG_OPTIONAL_SCAN) == 0 ||
		    strcmp(key, "creator") == 0 ||
		    strcmp(key, "timestamp") == 0) {
			fprintf(stderr,
			    "regward-sign: -a %s: key is "
			    "reserved\n",
			    key);
			json_decref(opt);
			return NULL;
		}
		json_object_set_new(opt, key, json_string(eq + 1));
	}
	if (rep != NULL) {
		if ((v = scan_to_json(rep)) == NULL)
			main_die_oom();
		json_object_set_new(opt, SIG_OPTIONAL_SCAN, v);
	}
	return opt;
}

/* optional without creator and timestamp, which change on every run. */
static json_t *
main_optional_stable(const json_t *opt)
{
	json_t *c = opt != NULL ? json_deep_copy(opt) : json_object();

	if (c == NULL)
		main_die_oom();
	json_object_del(c, "creator");
	json_object_del(c, "timestamp");
	return c;
}

/*
 * 1 when the signature manifest old already holds a signature by key for
 * digest dgst with the same identity and claims: signing again would only
 * add a layer saying the same thing.
 */
static int
main_already_signed(struct registry *reg, const char *repo, const void *old,
    size_t oldlen, EVP_PKEY *key, const char *dgst, const char *identity,
    const json_t *opt)
{
	struct sig_trusted_key tk = {"signer", key};
	struct sig_mfst *m = NULL;
	struct sig_verify_out vo;
	struct registry_err e;
	char err[SIG_ERR_MAX];
	unsigned char *blob;
	size_t i, len;
	json_t *want, *have;
	int found = 0;

	if (sig_mfst_parse(old, oldlen, &m, err, sizeof(err)) == -1)
		return 0;
	want = main_optional_stable(opt);
	for (i = 0; i < m->nlayers && !found; i++) {
		if (registry_blob_get(reg, repo, m->layers[i].digest,
			SIG_PAYLOAD_MAX, &blob, &len, &e) != REGISTRY_OK)
			continue;
		if (sig_verify_layer(dgst, &m->layers[i], blob, len, &tk, 1,
			&vo, err, sizeof(err)) == SIG_VERIFY_OK &&
		    strcmp(vo.payload.identity, identity) == 0) {
			have = main_optional_stable(vo.payload.optional);
			found = json_equal(want, have);
			json_decref(have);
		}
		sig_verify_out_clear(&vo);
		free(blob);
	}
	json_decref(want);
	sig_mfst_free(m);
	return found;
}

/* Sign one manifest digest of repo and store the signature. */
static int
main_sign_digest(struct registry *reg, const char *repo, EVP_PKEY *key,
    const char *dgst, const char *identity, const json_t *opt)
{
	struct registry_mfst old;
	struct registry_err e;
	struct sig_mfst *om = NULL;
	struct sig_mfst_update upd;
	enum registry_status st;
	char sigtag[SIG_REF_SIG_TAG_SIZE], err[SIG_ERR_MAX];
	char put_dgst[REGISTRY_DIGEST_MAX];
	unsigned char *config = NULL;
	size_t config_len = 0, payload_len = 0;
	char *payload = NULL, *b64 = NULL;
	int have_old = 0, rc = EXIT_REGISTRY;

	memset(&old, 0, sizeof(old));
	memset(&upd, 0, sizeof(upd));
	if (sig_ref_sig_tag(dgst, sigtag, sizeof(sigtag)) == -1) {
		fprintf(
		    stderr, "regward-sign: %s: not a sha256 digest\n", dgst);
		return EXIT_INPUT;
	}
	st = registry_manifest_get(
	    reg, repo, sigtag, SIG_MT_OCI_MANIFEST, &old, &e);
	if (st == REGISTRY_OK) {
		have_old = 1;
		if (sig_mfst_parse(old.body, old.len, &om, err, sizeof(err)) ==
		    -1) {
			fprintf(stderr, "regward-sign: %s:%s: %s\n", repo,
			    sigtag, err);
			rc = EXIT_INPUT;
			goto out;
		}
		st = registry_blob_get(reg, repo, om->config_digest,
		    SIG_MFST_MAX, &config, &config_len, &e);
		if (st != REGISTRY_OK) {
			rc = main_registry_fail(om->config_digest, st, &e);
			goto out;
		}
		if (main_already_signed(reg, repo, old.body, old.len, key, dgst,
			identity, opt)) {
			printf("%s/%s@%s: already signed with this key and "
			       "these claims; nothing written\n",
			    registry_base_url(reg), repo, dgst);
			rc = 0;
			goto out;
		}
	} else if (st != REGISTRY_NOT_FOUND) {
		rc = main_registry_fail(sigtag, st, &e);
		goto out;
	}
	if (sig_payload_build(identity, dgst, opt, NULL, -1, &payload,
		&payload_len, err, sizeof(err)) == -1 ||
	    sig_ecdsa_sign(key, payload, payload_len, &b64, err, sizeof(err)) ==
		-1 ||
	    sig_mfst_append(have_old ? old.body : NULL, old.len, config,
		config_len, payload, payload_len, b64, &upd, err,
		sizeof(err)) == -1) {
		fprintf(stderr, "regward-sign: %s: %s\n", dgst, err);
		rc = EXIT_KEY;
		goto out;
	}
	if (!upd.skipped) {
		if ((st = registry_blob_put(reg, repo, payload, payload_len,
			 NULL, NULL, &e)) != REGISTRY_OK ||
		    (st = registry_blob_put(reg, repo, upd.config,
			 upd.config_len, NULL, NULL, &e)) != REGISTRY_OK ||
		    (st = registry_manifest_put(reg, repo, sigtag,
			 SIG_MT_OCI_MANIFEST, upd.mfst, upd.mfst_len, put_dgst,
			 &e)) != REGISTRY_OK) {
			rc = main_registry_fail(sigtag, st, &e);
			goto out;
		}
	}
	printf("signed %s@%s as %s (payload %s, %s)\n", repo, dgst, identity,
	    upd.payload_digest, sigtag);
	rc = 0;
out:
	sig_mfst_update_clear(&upd);
	sig_mfst_free(om);
	registry_mfst_clear(&old);
	free(config);
	free(payload);
	free(b64);
	return rc;
}

/* Child manifest digests of an index, for --recursive. */
static size_t
main_index_children(
    const struct registry_mfst *m, char out[][SIG_DIGEST_SIZE], size_t max)
{
	json_error_t je;
	json_t *root, *list, *d;
	const char *dg;
	size_t i, n = 0;

	if ((root = json_loadb((const char *)m->body, m->len, 0, &je)) == NULL)
		return 0;
	list = json_object_get(root, "manifests");
	json_array_foreach(list, i, d)
	{
		dg = json_string_value(json_object_get(d, "digest"));
		if (dg != NULL && sig_digest_valid(dg, strlen(dg)) && n < max)
			snprintf(out[n++], SIG_DIGEST_SIZE, "%s", dg);
	}
	json_decref(root);
	return n;
}

static int
main_is_index(const struct registry_mfst *m)
{
	return strcmp(m->media_type, MT_OCI_INDEX) == 0 ||
	    strcmp(m->media_type, MT_DOCKER_LIST) == 0;
}

static int
main_sign(const struct main_opts *o)
{
	static char children[MAIN_INDEX_CHILDREN_MAX][SIG_DIGEST_SIZE];
	struct sig_ref ref;
	struct scan_opts so;
	struct scan_report *rep = NULL;
	struct registry *reg = NULL;
	struct registry_mfst m;
	struct registry_err e;
	enum registry_status st;
	EVP_PKEY *key = NULL;
	json_t *opt = NULL;
	char err[SIG_ERR_MAX], repo[SIG_REF_IDENTITY_SIZE];
	char identity[SIG_REF_IDENTITY_SIZE];
	size_t i, n;
	int rc = EXIT_USAGE;

	memset(&m, 0, sizeof(m));
	if (o->nkeys != 1 || o->arg == NULL) {
		fprintf(stderr,
		    "regward-sign: sign needs --key KEY and an "
		    "IMAGE\n");
		return EXIT_USAGE;
	}
	if (sig_ref_parse(
		o->arg, SIG_REF_DEFAULT_LATEST, &ref, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward-sign: %s: %s\n", o->arg, err);
		return EXIT_USAGE;
	}
	/* The scan gate comes first: a failing image costs no key, no net. */
	if (o->scan != NULL) {
		memset(&so, 0, sizeof(so));
		so.fail_on = SCAN_SEV_HIGH; /* the usual CI gate */
		if (o->fail_on != NULL &&
		    scan_fail_on_parse(o->fail_on, &so.fail_on) == -1) {
			fprintf(stderr,
			    "regward-sign: --fail-on %s: expected "
			    "critical, high, medium, low, unknown "
			    "or none\n",
			    o->fail_on);
			return EXIT_USAGE;
		}
		so.ignore_unfixed = o->ignore_unfixed;
		if (scan_load(o->scan, &so, &rep, err, sizeof(err)) == -1) {
			fprintf(stderr, "regward-sign: %s\n", err);
			return EXIT_INPUT;
		}
		scan_print(rep, stderr, 10);
		if (rep->fail) {
			fprintf(stderr,
			    "regward-sign: %s: scan failed the "
			    "threshold; not signing\n",
			    o->arg);
			rc = EXIT_SCAN;
			goto out;
		}
	} else if (o->fail_on != NULL || o->ignore_unfixed) {
		fprintf(stderr,
		    "regward-sign: --fail-on and --ignore-unfixed "
		    "need --scan\n");
		goto out;
	}
	if ((opt = main_build_optional(o, rep)) == NULL)
		goto out;
	rc = EXIT_KEY;
	if ((key = main_load_private(o, o->keys[0])) == NULL)
		goto out;
	rc = EXIT_REGISTRY;
	if ((reg = main_open_registry(o, ref.registry)) == NULL)
		goto out;
	snprintf(repo, sizeof(repo), "%s", ref.repo);
	st = registry_manifest_get(reg, repo,
	    ref.digest[0] ? ref.digest : ref.tag, REGISTRY_ACCEPT_MANIFESTS, &m,
	    &e);
	if (st != REGISTRY_OK) {
		rc = main_registry_fail(o->arg, st, &e);
		goto out;
	}
	if (ref.digest[0] && strcmp(ref.digest, m.dgst) != 0) {
		fprintf(stderr, "regward-sign: %s: registry served %s\n",
		    o->arg, m.dgst);
		goto out;
	}
	/* A report that names its image must name this one. */
	if (rep != NULL && rep->artifact_digest != NULL &&
	    strcmp(rep->artifact_digest, m.dgst) != 0) {
		fprintf(stderr,
		    "regward-sign: %s: the report scanned %s, but %s is %s\n",
		    o->scan, rep->artifact_digest, o->arg, m.dgst);
		rc = EXIT_INPUT;
		goto out;
	}
	if (o->identity != NULL)
		snprintf(identity, sizeof(identity), "%s", o->identity);
	else if (sig_ref_identity(&ref, identity, sizeof(identity)) == -1) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (main_is_index(&m) && o->recursive) {
		n = main_index_children(&m, children, MAIN_INDEX_CHILDREN_MAX);
		for (i = 0; i < n; i++)
			if ((rc = main_sign_digest(reg, repo, key, children[i],
				 identity, opt)) != 0)
				goto out;
	}
	rc = main_sign_digest(reg, repo, key, m.dgst, identity, opt);
out:
	registry_mfst_clear(&m);
	registry_free(reg);
	EVP_PKEY_free(key);
	json_decref(opt);
	scan_free(rep);
	return rc;
}

/* ---- verify ------------------------------------------------------------ */

struct main_keyset {
	struct sig_trusted_key k[MAIN_KEYS_MAX];
	size_t n;
};

static int
main_load_keys(const struct main_opts *o, struct main_keyset *ks)
{
	char err[SIG_ERR_MAX];
	size_t i;

	memset(ks, 0, sizeof(*ks));
	for (i = 0; i < o->nkeys; i++) {
		if (sig_key_load_public_file(o->keys[i], &ks->k[i].key, err,
			sizeof(err)) != SIG_KEY_OK) {
			fprintf(stderr, "regward-sign: %s\n", err);
			return -1;
		}
		ks->k[i].name = o->keys[i];
		ks->n++;
	}
	return 0;
}

static void
main_free_keys(struct main_keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		EVP_PKEY_free(ks->k[i].key);
	ks->n = 0;
}

/*
 * Does the payload's identity name the image's repository? The identity
 * may carry a tag or digest (containers/image) or not (cosign).
 */
static int
main_identity_matches(const char *identity, const struct sig_ref *img)
{
	struct sig_ref id;
	char err[SIG_ERR_MAX];

	if (sig_ref_parse(identity, 0, &id, err, sizeof(err)) == -1)
		return 0;
	return strcmp(id.registry, img->registry) == 0 &&
	    strcmp(id.repo, img->repo) == 0;
}

static int
main_verify(const struct main_opts *o)
{
	struct sig_ref ref;
	struct main_keyset ks;
	struct registry *reg = NULL;
	struct registry_mfst m, sm;
	struct registry_err e;
	struct sig_mfst *sigs = NULL;
	struct sig_verify_out vo;
	struct scan_report *rep;
	enum registry_status st;
	enum sig_verify_result vr;
	char err[SIG_ERR_MAX], sigtag[SIG_REF_SIG_TAG_SIZE], line[512];
	unsigned char *blob;
	size_t i, len, good = 0;
	json_t *scan;
	int rc = EXIT_USAGE;

	memset(&m, 0, sizeof(m));
	memset(&sm, 0, sizeof(sm));
	if (o->nkeys == 0 || o->arg == NULL) {
		fprintf(stderr,
		    "regward-sign: verify needs --key PUB and an "
		    "IMAGE\n");
		return EXIT_USAGE;
	}
	if (sig_ref_parse(
		o->arg, SIG_REF_DEFAULT_LATEST, &ref, err, sizeof(err)) == -1) {
		fprintf(stderr, "regward-sign: %s: %s\n", o->arg, err);
		return EXIT_USAGE;
	}
	if (main_load_keys(o, &ks) == -1) {
		main_free_keys(&ks);
		return EXIT_KEY;
	}
	rc = EXIT_REGISTRY;
	if ((reg = main_open_registry(o, ref.registry)) == NULL)
		goto out;
	st = registry_manifest_get(reg, ref.repo,
	    ref.digest[0] ? ref.digest : ref.tag, REGISTRY_ACCEPT_MANIFESTS, &m,
	    &e);
	if (st != REGISTRY_OK) {
		rc = main_registry_fail(o->arg, st, &e);
		goto out;
	}
	printf("%s: manifest %s (%s)\n", o->arg, m.dgst, m.media_type);
	sig_ref_sig_tag(m.dgst, sigtag, sizeof(sigtag));
	st = registry_manifest_get(
	    reg, ref.repo, sigtag, SIG_MT_OCI_MANIFEST, &sm, &e);
	if (st == REGISTRY_NOT_FOUND) {
		printf("unsigned: no %s\n", sigtag);
		rc = EXIT_VERIFY;
		goto out;
	}
	if (st != REGISTRY_OK) {
		rc = main_registry_fail(sigtag, st, &e);
		goto out;
	}
	if (sig_mfst_parse(sm.body, sm.len, &sigs, err, sizeof(err)) == -1) {
		printf("bad signature manifest %s: %s\n", sigtag, err);
		rc = EXIT_VERIFY;
		goto out;
	}
	for (i = 0; i < sigs->nlayers; i++) {
		st = registry_blob_get(reg, ref.repo, sigs->layers[i].digest,
		    SIG_PAYLOAD_MAX, &blob, &len, &e);
		if (st != REGISTRY_OK) {
			printf("layer %zu: %s: %s\n", i + 1,
			    sigs->layers[i].digest, registry_status_str(st));
			continue;
		}
		vr = sig_verify_layer(m.dgst, &sigs->layers[i], blob, len, ks.k,
		    ks.n, &vo, err, sizeof(err));
		free(blob);
		if (vr != SIG_VERIFY_OK) {
			printf("layer %zu: %s: %s\n", i + 1,
			    sig_verify_result_name(vr), err);
			sig_verify_out_clear(&vo);
			continue;
		}
		if (!main_identity_matches(vo.payload.identity, &ref)) {
			printf("layer %zu: identity_mismatch: signed for %s\n",
			    i + 1, vo.payload.identity);
			sig_verify_out_clear(&vo);
			continue;
		}
		printf("layer %zu: valid: key %s, identity %s\n", i + 1,
		    vo.key_name, vo.payload.identity);
		scan = vo.payload.optional != NULL
		    ? json_object_get(vo.payload.optional, SIG_OPTIONAL_SCAN)
		    : NULL;
		if (scan == NULL) {
			printf("  scan: none\n");
		} else if (scan_from_json(
			       o->arg, scan, &rep, err, sizeof(err)) == -1) {
			printf("  scan: unreadable: %s\n", err);
		} else {
			scan_summary(rep, line, sizeof(line));
			printf("  scan: %s\n", line);
			scan_free(rep);
		}
		sig_verify_out_clear(&vo);
		good++;
	}
	printf("%zu of %zu signature(s) valid\n", good, sigs->nlayers);
	rc = good > 0 ? 0 : EXIT_VERIFY;
out:
	sig_mfst_free(sigs);
	registry_mfst_clear(&sm);
	registry_mfst_clear(&m);
	registry_free(reg);
	main_free_keys(&ks);
	return rc;
}

/*
 * --layer FILE: a layer descriptor (mediaType, annotations) as it stands in
 * the .sig manifest. A layer of another media type is not a signature at
 * all. When want_sig, its signature annotation becomes *sig. Returns 0,
 * EXIT_VERIFY or EXIT_INPUT.
 */
static int
main_layer_signature(
    const char *path, int want_sig, unsigned char **sig, size_t *slen)
{
	unsigned char *buf;
	json_error_t je;
	json_t *root = NULL;
	const char *mt, *b64;
	size_t len;
	int rc = EXIT_INPUT;

	*sig = NULL;
	*slen = 0;
	if ((buf = main_read_file(path, 64 * 1024, &len)) == NULL)
		return EXIT_INPUT;
	if ((root = json_loadb(
		 (char *)buf, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		fprintf(stderr, "regward-sign: %s:%d:%d: %s\n", path, je.line,
		    je.column, je.text);
		goto out;
	}
	mt = json_string_value(json_object_get(root, "mediaType"));
	if (mt == NULL || strcmp(mt, SIG_MT_SIMPLESIGNING) != 0) {
		printf("%s: not_a_signature: media type %s\n", path,
		    mt != NULL ? mt : "(none)");
		rc = EXIT_VERIFY;
		goto out;
	}
	b64 = json_string_value(json_object_get(
	    json_object_get(root, "annotations"), SIG_ANN_SIGNATURE));
	if (want_sig) {
		if (b64 == NULL) {
			printf("%s: bad_signature: no %s annotation\n", path,
			    SIG_ANN_SIGNATURE);
			rc = EXIT_VERIFY;
			goto out;
		}
		if ((*sig = (unsigned char *)strdup(b64)) == NULL)
			main_die_oom();
		*slen = strlen(b64);
	}
	rc = 0;
out:
	json_decref(root);
	free(buf);
	return rc;
}

/* Check local files as cosign verify-blob does, plus the manifest. */
static int
main_verify_blob(const struct main_opts *o)
{
	struct main_keyset ks;
	struct sig_payload pl;
	unsigned char *payload = NULL, *sig = NULL, *mfst = NULL;
	size_t plen, slen, mlen;
	char err[SIG_ERR_MAX], dgst[SIG_DIGEST_SIZE];
	enum sig_ecdsa_status es = SIG_ECDSA_BAD;
	size_t i;
	int rc = EXIT_INPUT;

	memset(&pl, 0, sizeof(pl));
	if (o->nkeys == 0 || (o->signature == NULL && o->layer == NULL) ||
	    o->arg == NULL) {
		fprintf(stderr,
		    "regward-sign: verify-blob needs --key PUB, "
		    "--signature FILE or --layer FILE, and a PAYLOAD file\n");
		return EXIT_USAGE;
	}
	if (main_load_keys(o, &ks) == -1) {
		main_free_keys(&ks);
		return EXIT_KEY;
	}
	if ((payload = main_read_file(o->arg, SIG_PAYLOAD_MAX, &plen)) == NULL)
		goto out;
	if (o->layer != NULL) {
		rc = main_layer_signature(
		    o->layer, o->signature == NULL, &sig, &slen);
		if (rc != 0)
			goto out;
		rc = EXIT_INPUT;
	}
	if (o->signature != NULL &&
	    (sig = main_read_file(o->signature, 64 * 1024, &slen)) == NULL)
		goto out;
	while (slen > 0 &&
	    (sig[slen - 1] == '\n' || sig[slen - 1] == '\r' ||
		sig[slen - 1] == ' '))
		slen--;
	rc = EXIT_VERIFY;
	for (i = 0; i < ks.n; i++) {
		es = sig_ecdsa_verify(ks.k[i].key, payload, plen, (char *)sig,
		    slen, err, sizeof(err));
		if (es == SIG_ECDSA_OK || es == SIG_ECDSA_MALFORMED)
			break;
	}
	if (es != SIG_ECDSA_OK) {
		printf("%s: %s\n", o->signature ? o->signature : o->layer,
		    es == SIG_ECDSA_MALFORMED
			? "bad_signature: malformed"
			: "untrusted_key: no key verifies "
			  "the signature");
		goto out;
	}
	printf("signature: valid under %s\n", ks.k[i].name);
	if (o->manifest != NULL) {
		if ((mfst = main_read_file(o->manifest, SIG_MFST_MAX, &mlen)) ==
		    NULL) {
			rc = EXIT_INPUT;
			goto out;
		}
		sig_digest_sha256(mfst, mlen, dgst);
		if (sig_payload_parse(payload, plen, &pl, err, sizeof(err)) ==
		    -1) {
			printf("%s: bad_payload: %s\n", o->arg, err);
			goto out;
		}
		if (strcmp(pl.digest, dgst) != 0) {
			printf("%s: digest_mismatch: payload names %s, "
			       "manifest is %s\n",
			    o->arg, pl.digest, dgst);
			goto out;
		}
		printf("payload: names %s (identity %s)\n", dgst, pl.identity);
	}
	printf("Verified OK\n");
	rc = 0;
out:
	sig_payload_clear(&pl);
	free(payload);
	free(sig);
	free(mfst);
	main_free_keys(&ks);
	return rc;
}

/* ---- generate-key-pair ------------------------------------------------- */

static int
main_generate(const struct main_opts *o)
{
	const char *prefix = o->prefix ? o->prefix : "cosign";
	char priv[4096], pub[4096], pass[MAIN_PASS_MAX], err[SIG_ERR_MAX];
	EVP_PKEY *key;
	enum sig_key_status st;

	if ((size_t)snprintf(priv, sizeof(priv), "%s.key", prefix) >=
		sizeof(priv) ||
	    (size_t)snprintf(pub, sizeof(pub), "%s.pub", prefix) >=
		sizeof(pub)) {
		fprintf(stderr,
		    "regward-sign: --output-key-prefix: too "
		    "long\n");
		return EXIT_USAGE;
	}
	if (main_get_pass(o, 1, pass, sizeof(pass)) == -1)
		return EXIT_KEY;
	if ((key = sig_key_generate(err, sizeof(err))) == NULL) {
		fprintf(stderr, "regward-sign: %s\n", err);
		OPENSSL_cleanse(pass, sizeof(pass));
		return EXIT_KEY;
	}
	st = sig_key_write_pair(
	    key, priv, pub, pass, strlen(pass), o->force, err, sizeof(err));
	OPENSSL_cleanse(pass, sizeof(pass));
	EVP_PKEY_free(key);
	if (st != SIG_KEY_OK) {
		fprintf(stderr, "regward-sign: %s\n", err);
		return st == SIG_KEY_ERR_EXISTS ? EXIT_USAGE : EXIT_KEY;
	}
	printf(
	    "Private key written to %s\nPublic key written to %s\n", priv, pub);
	return 0;
}

/* ---- command line ------------------------------------------------------ */

static int
main_parse_opts(int argc, char **argv, struct main_opts *o)
{
	int i;
	const char *a;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		a = argv[i];
#define NEXT()                                                                 \
	do {                                                                   \
		if (i + 1 >= argc) {                                           \
			fprintf(                                               \
			    stderr, "regward-sign: %s: needs a value\n", a);   \
			return -1;                                             \
		}                                                              \
	} while (0)
		if (strcmp(a, "--key") == 0) {
			NEXT();
			if (o->nkeys == MAIN_KEYS_MAX)
				return -1;
			o->keys[o->nkeys++] = argv[++i];
		} else if (strcmp(a, "--scan") == 0) {
			NEXT();
			o->scan = argv[++i];
		} else if (strcmp(a, "--fail-on") == 0) {
			NEXT();
			o->fail_on = argv[++i];
		} else if (strcmp(a, "--ignore-unfixed") == 0) {
			o->ignore_unfixed = 1;
		} else if (strcmp(a, "-a") == 0 ||
		    strcmp(a, "--annotation") == 0) {
			NEXT();
			if (o->nann == MAIN_ANN_MAX)
				return -1;
			o->ann[o->nann++] = argv[++i];
		} else if (strcmp(a, "--recursive") == 0) {
			o->recursive = 1;
		} else if (strcmp(a, "--identity") == 0) {
			NEXT();
			o->identity = argv[++i];
		} else if (strcmp(a, "--output-key-prefix") == 0) {
			NEXT();
			o->prefix = argv[++i];
		} else if (strcmp(a, "--force") == 0) {
			o->force = 1;
		} else if (strcmp(a, "--passphrase-file") == 0) {
			NEXT();
			o->passphrase_file = argv[++i];
		} else if (strcmp(a, "--username") == 0 ||
		    strcmp(a, "-u") == 0) {
			NEXT();
			o->username = argv[++i];
		} else if (strcmp(a, "--password-stdin") == 0) {
			o->password_stdin = 1;
		} else if (strcmp(a, "--identity-token") == 0) {
			NEXT();
			o->identity_token = argv[++i];
		} else if (strcmp(a, "--ca-cert") == 0) {
			NEXT();
			o->ca_cert = argv[++i];
		} else if (strcmp(a, "--insecure") == 0) {
			o->insecure = 1;
		} else if (strcmp(a, "--signature") == 0) {
			NEXT();
			o->signature = argv[++i];
		} else if (strcmp(a, "--manifest") == 0) {
			NEXT();
			o->manifest = argv[++i];
		} else if (strcmp(a, "--layer") == 0) {
			NEXT();
			o->layer = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(
			    stderr, "regward-sign: unknown option: %s\n", a);
			return -1;
		} else if (o->arg == NULL) {
			o->arg = a;
		} else {
			fprintf(stderr,
			    "regward-sign: unexpected argument: "
			    "%s\n",
			    a);
			return -1;
		}
#undef NEXT
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct main_opts o;
	const char *cmd;

	if (argc < 2) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("regward-sign %s\n", REGWARD_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		main_usage(stdout);
		return 0;
	}
	if (main_parse_opts(argc - 2, argv + 2, &o) == -1) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "generate-key-pair") == 0)
		return main_generate(&o);
	if (strcmp(cmd, "sign") == 0)
		return main_sign(&o);
	if (strcmp(cmd, "verify") == 0)
		return main_verify(&o);
	if (strcmp(cmd, "verify-blob") == 0)
		return main_verify_blob(&o);
	fprintf(stderr, "regward-sign: unknown command: %s\n", cmd);
	main_usage(stderr);
	return EXIT_USAGE;
}
