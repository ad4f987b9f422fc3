#include "matc/spec/Diagnostics.h"

#include <gtest/gtest.h>

using matc::spec::Diagnostic;
using matc::spec::Diagnostics;

TEST(DiagnosticsTest, StartsEmpty) {
  Diagnostics diags;
  EXPECT_FALSE(diags.hasErrors());
  EXPECT_EQ(diags.errorCount(), 0u);
  EXPECT_TRUE(diags.all().empty());
  EXPECT_EQ(diags.str(), "");
}

TEST(DiagnosticsTest, WarningsAreNotErrors) {
  Diagnostics diags;
  diags.warning("foo", "unknown field");
  EXPECT_FALSE(diags.hasErrors());
  ASSERT_EQ(diags.all().size(), 1u);
  EXPECT_EQ(diags.all()[0].severity, Diagnostic::Severity::Warning);
}

TEST(DiagnosticsTest, MessagesJoinSourceWhereAndWhat) {
  Diagnostics diags("spec.json");
  diags.error("matformer.granularities[2]", "must be greater than 96");
  diags.warning("", "unknown field 'foo' ignored");
  EXPECT_TRUE(diags.hasErrors());
  EXPECT_EQ(diags.errorCount(), 1u);
  EXPECT_EQ(diags.all()[0].message,
            "spec.json: matformer.granularities[2]: must be greater than 96");
  EXPECT_EQ(diags.all()[1].message, "spec.json: unknown field 'foo' ignored");
  EXPECT_EQ(diags.str(),
            "error: spec.json: matformer.granularities[2]: must be greater "
            "than 96\nwarning: spec.json: unknown field 'foo' ignored\n");
}

TEST(DiagnosticsTest, WithoutSourceTheMessageStartsAtWhere) {
  Diagnostics diags;
  diags.error("num_attention_heads", "must divide hidden_size 64");
  EXPECT_EQ(diags.all()[0].message,
            "num_attention_heads: must divide hidden_size 64");
}

TEST(DiagnosticsTest, SourceIsNotRepeatedWhenItIsTheWhere) {
  Diagnostics diags("spec.json");
  diags.error("spec.json", "cannot open for reading: No such file");
  EXPECT_EQ(diags.all()[0].message,
            "spec.json: cannot open for reading: No such file");
}
