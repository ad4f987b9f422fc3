/* compile_and_run.c - compile a model spec at run time through matc/matc.h,
 * then run the result through matrt/matrt.h.
 *
 *   compile-and-run SPEC WEIGHTS OUT_LIBRARY [MIX]
 *
 * Compiles SPEC (for MIX, default the spec's) to the shared library
 * OUT_LIBRARY (`--emit lib`), opens it with WEIGHTS, and greedily generates
 * 8 tokens after the prompt 1, 2, 3. Diagnostics are printed as records. */
#include <matc/matc.h>
#include <matrt/matrt.h>

#include <stdio.h>

static const char *severityName(matc_severity severity) {
  switch (severity) {
  case MATC_SEVERITY_ERROR:
    return "error";
  case MATC_SEVERITY_WARNING:
    return "warning";
  default:
    return "note";
  }
}

static void printToken(int32_t token, void *userData) {
  (void)userData;
  printf(" %d", (int)token);
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: %s SPEC WEIGHTS OUT_LIBRARY [MIX]\n", argv[0]);
    return 2;
  }
  printf("%s\n", matc_version_string());
  matc_context *compiler = matc_context_create(MATC_API_VERSION);
  if (!compiler) {
    fprintf(stderr, "libmatc has API %d, this program was built for %d\n",
            matc_api_version(), MATC_API_VERSION);
    return 1;
  }
  matc_set_emit(compiler, MATC_EMIT_LIB);
  matc_set_mix(compiler, argc == 5 ? argv[4] : NULL);
  matc_status status = matc_compile_file(compiler, argv[1], argv[3]);
  for (size_t i = 0; i < matc_diagnostic_count(compiler); ++i) {
    const matc_diagnostic *d = matc_diagnostic_get(compiler, i);
    printf("[%s] file=%s field=%s: %s\n", severityName(d->severity), d->file,
           d->field, d->message);
  }
  matc_context_free(compiler);
  if (status != MATC_OK)
    return 1;

  matrt_model *model = NULL;
  if (matrt_open(MATRT_API_VERSION, argv[3], argv[2], NULL, &model) !=
      MATRT_OK) {
    fprintf(stderr, "error: %s\n", matrt_last_error());
    return 1;
  }
  int32_t prompt[] = {1, 2, 3};
  int32_t generated[8];
  size_t count = 0;
  printf("mix %s generates:", matrt_mix(model));
  matrt_status run = matrt_generate(model, prompt, 3, 8, NULL, printToken,
                                    NULL, generated, &count);
  printf("\n");
  if (run != MATRT_OK) {
    fprintf(stderr, "error: %s: %s\n", matrt_status_name(run),
            matrt_last_error());
    matrt_close(model);
    return 1;
  }
  printf("generated %zu tokens\n", count);
  matrt_close(model);
  return 0;
}
