#include "matrt/MixSelection.h"

namespace matrt {

using matc::spec::Diagnostics;
using matc::spec::formatMix;
using matc::spec::Mix;

std::optional<Mix> selectMix(const Manifest &manifest,
                             const std::string &mixFlag, Diagnostics &diags) {
  if (mixFlag.empty())
    return manifest.mix;
  // parseMix's messages name the offending token; "--mix" says where it was.
  Diagnostics mixDiags;
  std::optional<Mix> mix =
      matc::spec::parseMix(mixFlag, manifest.spec, mixDiags);
  for (const matc::spec::Diagnostic &d : mixDiags.all())
    diags.report(d.severity, "--mix", d.message);
  if (!mix)
    return std::nullopt;
  if (!manifest.elastic && *mix != manifest.mix) {
    std::string requested = formatMix(*mix);
    std::string given =
        requested == mixFlag ? mixFlag : mixFlag + " (" + requested + ")";
    diags.error("--mix", "this binary was compiled for mix " +
                             formatMix(manifest.mix) + "; --mix " + given +
                             " differs (recompile with matc compile --mix, or "
                             "use a binary compiled with --elastic)");
    return std::nullopt;
  }
  return mix;
}

bool checkDraftMix(const Manifest &manifest, const std::string &draftMixFlag,
                   Diagnostics &diags) {
  if (draftMixFlag.empty())
    return true;
  if (!manifest.elastic) {
    diags.error("--draft-mix",
                "speculative decoding needs a binary compiled with --elastic "
                "(this one runs only mix " +
                    formatMix(manifest.mix) + ")");
    return false;
  }
  diags.error("--draft-mix",
              "speculative decoding is not supported by this runtime yet");
  return false;
}

} // namespace matrt
