#ifndef MATRT_MIXSELECTION_H
#define MATRT_MIXSELECTION_H

#include "matc/spec/Diagnostics.h"
#include "matc/spec/Mix.h"
#include "matrt/Manifest.h"

#include <optional>
#include <string>

namespace matrt {

// The mix a run uses, from MIX text (empty when none was given): a binary
// compiled for one mix runs only that mix, so another one is an error saying
// so; an elastic binary runs any mix, and without one the spec's default.
// MIX warnings (an untrained width) are passed on. `where` names the source
// in messages: a flag ("--mix") or a request field ("field 'mix'").
std::optional<matc::spec::Mix> selectMix(const Manifest &manifest,
                                         const std::string &mixText,
                                         matc::spec::Diagnostics &diags,
                                         const std::string &where = "--mix");

// The draft mix of speculative decoding, which runs a second mix over the
// same weights: only an elastic binary can do that. `mixText` must not be
// empty.
std::optional<matc::spec::Mix>
selectDraftMix(const Manifest &manifest, const std::string &mixText,
               matc::spec::Diagnostics &diags,
               const std::string &where = "--draft-mix");

} // namespace matrt

#endif // MATRT_MIXSELECTION_H
