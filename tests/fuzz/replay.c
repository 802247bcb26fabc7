/*
 * Replay driver: runs a libFuzzer target over corpus files under any
 * compiler, so ctest checks the seeds (label fuzz-regress). Each file is
 * fed whole, then each of its lines on its own (the seed files keep one
 * case per line).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path, size_t *ncases)
{
	FILE *f;
	char *buf = NULL, *line, *end;
	size_t len = 0, cap = 0, n;
	char chunk[65536];

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: cannot open\n", path);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n > cap) {
			cap = (len + n) * 2;
			if ((buf = realloc(buf, cap)) == NULL) {
				fclose(f);
				return -1;
			}
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	(*ncases)++;
	for (line = buf; line != NULL && line < buf + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(buf + len - line));
		if (end == NULL)
			end = buf + len;
		/* A copy of exactly the line, so ASan sees overreads. */
		char *copy = malloc((size_t)(end - line) + 1);
		if (copy == NULL)
			break;
		memcpy(copy, line, (size_t)(end - line));
		LLVMFuzzerTestOneInput(
		    (const uint8_t *)copy, (size_t)(end - line));
		free(copy);
		(*ncases)++;
	}
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t ncases = 0;
	int i, rc = 0;

	for (i = 1; i < argc; i++)
		if (replay_file(argv[i], &ncases) == -1)
			rc = 1;
	printf("replay: %zu inputs from %d files\n", ncases, argc - 1);
	return rc != 0 || ncases == 0;
}
