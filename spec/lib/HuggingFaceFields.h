#ifndef MATC_SPEC_LIB_HUGGINGFACEFIELDS_H
#define MATC_SPEC_LIB_HUGGINGFACEFIELDS_H

#include "JsonSupport.h"

#include <string>

namespace matc::spec {

// A spec may be a Hugging Face config.json. Its fields that matc does not
// model are either harmless bookkeeping (ignored silently) or change the
// numerics, and then any non-default value is an error: ignoring it would
// compute a different model than the checkpoint was trained as.
//
// Returns false when `key` is not a Hugging Face field this table knows.
bool checkHuggingFaceField(const std::string &key,
                           const json_support::Json &value,
                           const json_support::Json &config,
                           Diagnostics &diags);

} // namespace matc::spec

#endif // MATC_SPEC_LIB_HUGGINGFACEFIELDS_H
