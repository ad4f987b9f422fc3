/*===- matc/matc.h - the C API of the matc compiler -----------------------===*
 *
 * Compiles MatFormer model specs from C or C++, as `matc compile` does:
 * create a context, set the options, compile a spec file or spec JSON text
 * to an executable, a shared library (`--emit lib`, run it through
 * matrt/matrt.h), an object, LLVM IR or MLIR, and read what went wrong as
 * structured diagnostic records.
 *
 * Provided by libmatc.so (CMake: find_package(matc CONFIG), target
 * matc::compiler). The compiler finds the runtime it links against beside
 * itself (../lib of the installed tree) or in $MATC_RUNTIME_DIR.
 *
 * Conventions:
 * - Functions that can fail return a matc_status (MATC_OK is 0) and add
 *   error records to the context's diagnostics; nothing aborts the host.
 * - A context is used by one thread at a time; several contexts may compile
 *   in parallel.
 * - Strings passed in are copied; strings handed out live as long as the
 *   context, until the next call that clears its diagnostics.
 *
 * Nothing here is C++ or MLIR; the header compiles as C99 and C++.
 *===----------------------------------------------------------------------===*/
#ifndef MATC_MATC_H
#define MATC_MATC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this API. matc_context_create checks the caller's
 * MATC_API_VERSION against the library at run time and refuses another
 * major version. */
#define MATC_API_VERSION_MAJOR 1
#define MATC_API_VERSION_MINOR 0
#define MATC_API_VERSION (MATC_API_VERSION_MAJOR * 100 + MATC_API_VERSION_MINOR)

/* The API version of the library actually loaded (MATC_API_VERSION of the
 * header it was built with). */
int matc_api_version(void);
/* A human-readable version: "matc API 1.0, LLVM 22.x.y". */
const char *matc_version_string(void);

typedef enum matc_status {
  MATC_OK = 0,
  /* A null pointer or an option value out of range (nothing compiled). */
  MATC_ERROR_INVALID_ARGUMENT = 1,
  /* The compile failed: see the error records (bad spec, bad MIX, missing
   * file, unwritable output, a feature not implemented yet). */
  MATC_ERROR_COMPILE = 2,
} matc_status;

typedef enum matc_target {
  MATC_TARGET_CPU = 0,  /* the host CPU, or matc_set_cpu's */
  MATC_TARGET_CUDA = 1, /* NVIDIA GPU, sm_90 (exe, obj, ptx, llvm; not lib);
                           needs the CUDA toolkit when compiling */
} matc_target;

typedef enum matc_dtype {
  MATC_DTYPE_F32 = 0, /* weights held in f32 (default) */
  MATC_DTYPE_BF16 = 1,
} matc_dtype;

typedef enum matc_emit_kind {
  MATC_EMIT_EXE = 0,    /* a program with the runtime's command line */
  MATC_EMIT_LIB = 1,    /* a shared library exporting matrt/matrt.h */
  MATC_EMIT_OBJ = 2,    /* the model's object file */
  MATC_EMIT_LLVM = 3,   /* optimized LLVM IR, text */
  MATC_EMIT_MLIR = 4,   /* the specialized matformer IR, text */
  MATC_EMIT_LINALG = 5, /* the IR after the linalg stage, text */
} matc_emit_kind;

typedef enum matc_severity {
  MATC_SEVERITY_ERROR = 0,
  MATC_SEVERITY_WARNING = 1,
  /* Information, e.g. the summary line of a successful compile. */
  MATC_SEVERITY_NOTE = 2,
} matc_severity;

/* One diagnostic. Strings are never null ("" when a part is unknown). */
typedef struct matc_diagnostic {
  matc_severity severity;
  /* The spec file (or "<spec>" for JSON text), the output path, or the
   * option ("mix") the problem is in. */
  const char *file;
  /* The JSON field path ("matformer.granularities[2]"), MIX token ("mix
   * token 2 ('XXL')") or tensor name. */
  const char *field;
  /* What was expected and what was found. */
  const char *message;
  /* Line and column for diagnostics that have them (MLIR), else 0. */
  int line;
  int column;
  /* The whole diagnostic as `matc` prints it on stderr. */
  const char *text;
} matc_diagnostic;

typedef struct matc_context matc_context;

/* A new compiler context with default options (target CPU of this host,
 * the spec's mix, f32, MATC_EMIT_EXE, -O2). Pass MATC_API_VERSION; returns
 * NULL when the library has another major version. Free it with
 * matc_context_free. */
matc_context *matc_context_create(int api_version);
void matc_context_free(matc_context *context);

/* Options; each stays set for later compiles of the context. */
matc_status matc_set_target(matc_context *context, matc_target target);
/* The CPU by LLVM's name ("znver3", "x86-64-v3"); NULL or "" for the host. */
matc_status matc_set_cpu(matc_context *context, const char *cpu);
/* Compile one submodel: a MIX (docs/REFERENCE.md, Mix'n'Match syntax), or
 * NULL for the spec's matformer.mix. Turns elastic off. */
matc_status matc_set_mix(matc_context *context, const char *mix);
/* Nonzero: keep every width a run-time value (one binary, any mix, chosen
 * with matrt_set_mix); clears the mix. Zero: back to the spec's mix. */
matc_status matc_set_elastic(matc_context *context, int elastic);
/* Nonzero: also generate the training entry points (`matc compile --train`:
 * the gradients, the joint loss and AdamW), which matrt_train_step runs.
 * Zero (the default): inference only. */
matc_status matc_set_train(matc_context *context, int train);
matc_status matc_set_dtype(matc_context *context, matc_dtype dtype);
matc_status matc_set_emit(matc_context *context, matc_emit_kind emit);
/* LLVM optimization level, 0 to 3. */
matc_status matc_set_opt_level(matc_context *context, int level);

/* Compiles the spec file at spec_path (a JSON spec or Hugging Face
 * config.json) to output_path, written atomically. Clears the diagnostics
 * first; on success a note record holds the summary line. */
matc_status matc_compile_file(matc_context *context, const char *spec_path,
                              const char *output_path);
/* The same from the spec's JSON text; diagnostics name it "<spec>". */
matc_status matc_compile_json(matc_context *context, const char *spec_json,
                              const char *output_path);

/* The diagnostics of the last compile (and of option setters since). */
size_t matc_diagnostic_count(const matc_context *context);
/* Record `index` (< matc_diagnostic_count), or NULL. */
const matc_diagnostic *matc_diagnostic_get(const matc_context *context,
                                           size_t index);
/* The number of error records among them. */
size_t matc_error_count(const matc_context *context);
void matc_diagnostics_clear(matc_context *context);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MATC_MATC_H */
