#ifndef MATRT_MIXSELECTION_H
#define MATRT_MIXSELECTION_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"
#include "matrt/Manifest.h"

#include <optional>
#include <string>

namespace matrt {

// The mix a run uses, from the --mix text (empty when the flag is absent):
// a binary compiled for one mix runs only that mix, so another one is an
// error saying so; an elastic binary runs any mix, and without --mix the
// spec's default. MIX warnings (an untrained width) are passed on.
std::optional<matc::spec::Mix> selectMix(const Manifest &manifest,
                                         const std::string &mixFlag,
                                         matc::spec::Diagnostics &diags);

// --draft-mix: speculative decoding runs a second mix over the same weights,
// which only an elastic binary can do.
bool checkDraftMix(const Manifest &manifest, const std::string &draftMixFlag,
                   matc::spec::Diagnostics &diags);

} // namespace matrt

#endif // MATRT_MIXSELECTION_H
