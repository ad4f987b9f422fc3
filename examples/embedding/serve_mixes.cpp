// serve_mixes.cpp - serve two Mix'n'Match submodels from one elastic model
// library (`matc compile --elastic --emit lib`) through matrt/matrt.h: one
// copy of the weights, the mix switched between requests.
//
//   serve-mixes LIBRARY WEIGHTS MIX_A MIX_B
//
// For each request (alternating between the two mixes) it prints the mix,
// the greedy continuation of a prompt and the loss on a fixed token list.
#include <matrt/matrt.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

// Closes the model however the function returns.
struct Model {
  matrt_model *handle = nullptr;
  ~Model() { matrt_close(handle); }
};

int fail(const char *what) {
  std::fprintf(stderr, "error: %s: %s\n", what, matrt_last_error());
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s LIBRARY WEIGHTS MIX_A MIX_B\n", argv[0]);
    return 2;
  }
  Model model;
  if (matrt_open(MATRT_API_VERSION, argv[1], argv[2], nullptr,
                 &model.handle) != MATRT_OK)
    return fail("open");
  if (!matrt_is_elastic(model.handle))
    std::printf("note: %s is compiled for one mix (%s)\n", argv[1],
                matrt_mix(model.handle));

  const std::vector<int32_t> prompt = {72, 105, 33};
  std::vector<int32_t> text;
  for (int i = 0; i < 24; ++i)
    text.push_back(static_cast<int32_t>((i * 7 + 3) %
                                        matrt_vocab_size(model.handle)));
  const char *mixes[] = {argv[3], argv[4], argv[3]};
  for (const char *mix : mixes) {
    if (matrt_set_mix(model.handle, mix) != MATRT_OK)
      return fail("set_mix");
    std::vector<int32_t> out(6);
    size_t count = 0;
    if (matrt_generate(model.handle, prompt.data(), prompt.size(), 6, nullptr,
                       nullptr, nullptr, out.data(), &count) != MATRT_OK)
      return fail("generate");
    double loss = 0;
    int64_t scored = 0;
    if (matrt_eval_loss(model.handle, text.data(), text.size(), 0, &loss,
                        &scored) != MATRT_OK)
      return fail("eval_loss");
    std::string tokens;
    for (size_t i = 0; i < count; ++i)
      tokens += " " + std::to_string(out[i]);
    std::printf("mix %s: generated%s; loss %.6f over %lld tokens\n",
                matrt_mix(model.handle), tokens.c_str(), loss,
                static_cast<long long>(scored));
  }
  double stepLoss = 0;
  matrt_status train = matrt_train_step(model.handle, text.data(),
                                        text.size(), 1e-3, &stepLoss);
  std::printf("train_step: %s (%s)\n", matrt_status_name(train),
              matrt_last_error());
  return 0;
}
