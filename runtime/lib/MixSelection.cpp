#include "matrt/MixSelection.h"

namespace matrt {

using matc::spec::Diagnostics;
using matc::spec::formatMix;
using matc::spec::Mix;

std::optional<Mix> selectMix(const Manifest &manifest,
                             const std::string &mixText, Diagnostics &diags,
                             const std::string &where) {
  if (mixText.empty())
    return manifest.mix;
  // parseMix's messages name the offending token; `where` says where it was.
  Diagnostics mixDiags;
  std::optional<Mix> mix =
      matc::spec::parseMix(mixText, manifest.spec, mixDiags);
  for (const matc::spec::Diagnostic &d : mixDiags.all())
    diags.report(d.severity, where, d.message);
  if (!mix)
    return std::nullopt;
  if (!manifest.elastic && *mix != manifest.mix) {
    std::string requested = formatMix(*mix);
    std::string given =
        requested == mixText ? mixText : mixText + " (" + requested + ")";
    // A flag is named again in the sentence; a request field is not.
    if (where.rfind("--", 0) == 0)
      given = where + " " + given;
    diags.error(where, "this binary was compiled for mix " +
                           formatMix(manifest.mix) + "; " + given +
                           " differs (recompile with matc compile --mix, or "
                           "use a binary compiled with --elastic)");
    return std::nullopt;
  }
  return mix;
}

std::optional<Mix> selectDraftMix(const Manifest &manifest,
                                  const std::string &mixText,
                                  Diagnostics &diags,
                                  const std::string &where) {
  if (!manifest.elastic) {
    diags.error(where, "speculative decoding needs a binary compiled with "
                       "--elastic (this one runs only mix " +
                           formatMix(manifest.mix) + ")");
    return std::nullopt;
  }
  if (mixText.empty()) {
    diags.error(where, "empty; expected the MIX of the draft model");
    return std::nullopt;
  }
  return selectMix(manifest, mixText, diags, where);
}

} // namespace matrt
