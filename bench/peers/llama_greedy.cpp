// Greedy decoding with llama.cpp on token ids (a GGUF whose tokenizer is
// `none` cannot tokenize text), to check that llama.cpp makes matc's greedy
// tokens on the same weights. Prefill the prompt in one batch, then one
// token per call; prints the prefill's token and NEW more, comma-separated,
// as `OUT generate --print-tokens` does, then on a second line the
// prefill's logits (its last row). Argmax ties go to the lowest id.
//
// usage: llama-greedy MODEL.gguf THREADS PROMPT_IDS NEW [FLASH_ATTN [KV_TYPE]]
// FLASH_ATTN: on, off or auto (the default, as llama-bench's -fa); on the
// CPU, flash attention computes in lower precision (logits about 1e-4 from
// an f32 reference where off gives about 1e-7). KV_TYPE: f16 (the default,
// as llama-bench's) or f32 (which llama-bench's -ctk does not accept).
// Built by bench/peers/setup.sh against the llama.cpp it builds.
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

static void quiet(ggml_log_level level, const char *text, void *) {
  if (level >= GGML_LOG_LEVEL_ERROR)
    std::fputs(text, stderr);
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 7) {
    std::fprintf(stderr,
                 "usage: %s MODEL.gguf THREADS PROMPT_IDS NEW [on|off|auto [f16|f32]]\n",
                 argv[0]);
    return 2;
  }
  ggml_type kvType = GGML_TYPE_F16;
  if (argc == 7) {
    if (!std::strcmp(argv[6], "f32"))
      kvType = GGML_TYPE_F32;
    else if (std::strcmp(argv[6], "f16")) {
      std::fprintf(stderr, "error: KV_TYPE must be f16 or f32, not '%s'\n", argv[6]);
      return 2;
    }
  }
  llama_flash_attn_type flashAttn = LLAMA_FLASH_ATTN_TYPE_AUTO;
  if (argc >= 6) {
    if (!std::strcmp(argv[5], "on"))
      flashAttn = LLAMA_FLASH_ATTN_TYPE_ENABLED;
    else if (!std::strcmp(argv[5], "off"))
      flashAttn = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    else if (std::strcmp(argv[5], "auto")) {
      std::fprintf(stderr, "error: FLASH_ATTN must be on, off or auto, not '%s'\n", argv[5]);
      return 2;
    }
  }
  int threads = std::atoi(argv[2]);
  int newTokens = std::atoi(argv[4]);
  std::vector<llama_token> prompt;
  std::stringstream ids(argv[3]);
  for (std::string id; std::getline(ids, id, ',');)
    prompt.push_back(std::atoi(id.c_str()));
  if (prompt.empty() || threads < 1 || newTokens < 0) {
    std::fprintf(stderr, "error: bad arguments\n");
    return 2;
  }

  llama_log_set(quiet, nullptr);
  llama_backend_init();
  llama_model_params modelParams = llama_model_default_params();
  llama_model *model = llama_model_load_from_file(argv[1], modelParams);
  if (!model) {
    std::fprintf(stderr, "error: %s: cannot load the model\n", argv[1]);
    return 1;
  }
  llama_context_params params = llama_context_default_params();
  params.n_ctx = static_cast<uint32_t>(prompt.size() + newTokens + 16);
  params.n_batch = params.n_ubatch = static_cast<uint32_t>(prompt.size());
  params.n_threads = params.n_threads_batch = threads;
  params.type_k = params.type_v = kvType;
  params.flash_attn_type = flashAttn;
  llama_context *ctx = llama_init_from_model(model, params);
  if (!ctx) {
    std::fprintf(stderr, "error: cannot create a context\n");
    return 1;
  }
  int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::vector<llama_token> out;
  std::vector<float> prefillLogits;
  std::vector<llama_token> batch = prompt;
  for (int i = 0; i <= newTokens; ++i) {
    if (llama_decode(ctx, llama_batch_get_one(batch.data(),
                                              static_cast<int32_t>(batch.size())))) {
      std::fprintf(stderr, "error: llama_decode failed at step %d\n", i);
      return 1;
    }
    const float *logits = llama_get_logits_ith(ctx, -1);
    if (i == 0)
      prefillLogits.assign(logits, logits + vocab);
    int best = 0;
    for (int t = 1; t < vocab; ++t)
      if (logits[t] > logits[best])
        best = t;
    out.push_back(best);
    batch.assign(1, best);
  }
  for (size_t i = 0; i < out.size(); ++i)
    std::printf("%s%d", i ? "," : "", out[i]);
  std::printf("\n");
  for (size_t i = 0; i < prefillLogits.size(); ++i)
    std::printf("%s%.9g", i ? "," : "", prefillLogits[i]);
  std::printf("\n");
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
