/*===- matrt/matrt.h - the C API of the matc runtime ----------------------===*
 *
 * Runs models compiled by matc from C or C++: open a compiled model (a
 * library made by `matc compile --emit lib`) with its weights, choose the
 * mix of an elastic model between calls, compute logits, generate, evaluate
 * the loss on tokens.
 *
 * Provided by libmatrt.so (CMake: find_package(matc CONFIG), target
 * matc::runtime; pkg-config: matrt), and also exported by every library
 * made with `matc compile --emit lib`, which holds a copy of the runtime.
 *
 * Conventions:
 * - Every function that can fail returns a matrt_status; MATRT_OK is 0.
 *   The message of the last failure on the calling thread is
 *   matrt_last_error(). Failures never abort the process.
 * - A MIX is the text of docs/REFERENCE.md (Mix'n'Match syntax): "XL",
 *   "S,M,0,skip", a MatFormer Lab JSON object, "@file.json".
 * - A matrt_model holds one sequence (its KV cache); calls on one model must
 *   not overlap. Distinct models are independent, also across threads.
 *
 * Nothing here is C++; the header compiles as C99 and C++.
 *===----------------------------------------------------------------------===*/
#ifndef MATRT_MATRT_H
#define MATRT_MATRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this API. Pass it to matrt_open, which refuses a different
 * major version (MATRT_ERROR_VERSION): a program built against one header
 * and run against another runtime fails cleanly. */
#define MATRT_API_VERSION_MAJOR 1
#define MATRT_API_VERSION_MINOR 0
#define MATRT_API_VERSION (MATRT_API_VERSION_MAJOR * 100 + MATRT_API_VERSION_MINOR)

/* The API version of the runtime actually loaded. */
int matrt_api_version(void);

typedef enum matrt_status {
  MATRT_OK = 0,
  /* A null pointer, a zero length or an option out of range. */
  MATRT_ERROR_INVALID_ARGUMENT = 1,
  /* A library or weights file that does not exist or cannot be read. */
  MATRT_ERROR_FILE = 2,
  /* The library is not a model compiled by a compatible matc (no ABI
   * symbols, a bad manifest, another ABI version). */
  MATRT_ERROR_MODEL = 3,
  /* The weights file does not fit the model (missing tensor, wrong shape or
   * dtype, not safetensors). */
  MATRT_ERROR_WEIGHTS = 4,
  /* A MIX that does not parse, does not fit the spec, or is not the mix of
   * a model compiled for one mix. */
  MATRT_ERROR_MIX = 5,
  /* A token outside the vocabulary, or more tokens than max_positions. */
  MATRT_ERROR_TOKENS = 6,
  /* matrt_train_step on a model not compiled with --train. */
  MATRT_ERROR_NOT_COMPILED_WITH_TRAIN = 7,
  /* The caller's MATRT_API_VERSION has another major version. */
  MATRT_ERROR_VERSION = 8,
} matrt_status;

/* A short name of a status ("MATRT_ERROR_MIX"); never null. */
const char *matrt_status_name(matrt_status status);

/* The message of the last failure on this thread ("" when none); valid until
 * the next call on this thread. Messages name the file, flag, field or
 * tensor, as the command line does. */
const char *matrt_last_error(void);

typedef struct matrt_model matrt_model;

/* Opens a compiled model.
 *   api_version: MATRT_API_VERSION.
 *   library: a library made by `matc compile --emit lib`. It is loaded with
 *     RTLD_LOCAL, so several models (several libraries) live in one process.
 *     NULL means the model linked into the library providing this function
 *     (a program linked directly against one --emit lib library).
 *   weights: a safetensors file with the model's tensors (docs/REFERENCE.md,
 *     Checkpoints), memory-mapped.
 *   mix: the MIX to run; NULL for the compiled mix, or for an elastic model
 *     the spec's matformer.mix, else XL.
 * On success *model is set; free it with matrt_close. */
matrt_status matrt_open(int api_version, const char *library,
                        const char *weights, const char *mix,
                        matrt_model **model);

/* Frees the model and unloads its library. NULL is ignored. */
void matrt_close(matrt_model *model);

/* What the model is. */
int64_t matrt_vocab_size(const matrt_model *model);
int64_t matrt_max_positions(const matrt_model *model);
int64_t matrt_num_layers(const matrt_model *model);
/* 1 for a model compiled with --elastic (any mix), 0 for one mix. */
int matrt_is_elastic(const matrt_model *model);
/* The canonical text of the mix that runs now ("32,64,skip,256"); valid
 * until the next matrt_set_mix or matrt_close. */
const char *matrt_mix(const matrt_model *model);

/* Switches the mix that later calls run; an elastic model takes any mix, a
 * model compiled for one mix only that one. On failure the model keeps its
 * mix. Between calls, at no cost: weights are shared, nothing reloads. */
matrt_status matrt_set_mix(matrt_model *model, const char *mix);

/* Runs tokens[0, num_tokens) from position 0 and writes every position's
 * logits to logits[num_tokens][vocab_size] (row i predicts the token after
 * tokens[i]). 1 <= num_tokens <= max_positions. */
matrt_status matrt_forward(matrt_model *model, const int32_t *tokens,
                           size_t num_tokens, float *logits);

typedef struct matrt_sampling {
  /* 0: greedy; otherwise the logits are divided by it before the softmax. */
  double temperature;
  /* Sample among the top_k largest logits only; 0: all of them. */
  int64_t top_k;
  /* The same seed gives the same tokens. */
  uint64_t seed;
} matrt_sampling;

/* Called with each generated token as soon as it is sampled. */
typedef void (*matrt_token_callback)(int32_t token, void *user_data);

/* Generates up to max_new_tokens after prompt[0, prompt_length) on a fresh
 * sequence (it stops early at max_positions).
 *   sampling: NULL for greedy decoding.
 *   on_token, user_data: optional streaming callback.
 *   out_tokens: optional, room for max_new_tokens tokens; *num_generated
 *     (optional) receives how many were written. */
matrt_status matrt_generate(matrt_model *model, const int32_t *prompt,
                            size_t prompt_length, int64_t max_new_tokens,
                            const matrt_sampling *sampling,
                            matrt_token_callback on_token, void *user_data,
                            int32_t *out_tokens, size_t *num_generated);

/* Next-token cross-entropy (natural log) of tokens[0, num_tokens) under the
 * current mix, in windows of seq_len tokens (0: max_positions) as `OUT
 * eval` does: every token but the first is predicted once.
 *   mean_loss: receives the mean loss per predicted token.
 *   num_scored: optional, receives the number of predictions.
 * num_tokens >= 2. */
matrt_status matrt_eval_loss(matrt_model *model, const int32_t *tokens,
                             size_t num_tokens, int64_t seq_len,
                             double *mean_loss, int64_t *num_scored);

/* One training step on tokens[0, num_tokens) at learning_rate, for a model
 * compiled with `matc compile --train` (matc_set_train): the sequence runs
 * from position 0 (num_tokens - 1 predictions, 2 <= num_tokens <=
 * max_positions + 1), with the joint loss of every granularity weighted by
 * the spec's matformer.loss_weights, then global-norm clipping at 1 and an
 * AdamW step, all generated code, with the defaults of `OUT train` (weight
 * decay 0.1, none on norms and embeddings; betas 0.9, 0.95). The first call
 * copies the weights; from then on every call of this model (forward,
 * generate, eval, any mix) reads the trained copy; the weights file is not
 * changed. AdamW's moments persist between calls. *loss (may be null)
 * receives sum_i lambda_i L_i of the step, before the update. A model
 * without the training entry points: MATRT_ERROR_NOT_COMPILED_WITH_TRAIN. */
matrt_status matrt_train_step(matrt_model *model, const int32_t *tokens,
                              size_t num_tokens, double learning_rate,
                              double *loss);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MATRT_MATRT_H */
