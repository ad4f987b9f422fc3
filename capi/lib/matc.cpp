//===- matc.cpp - the C API of matc/matc.h over matc::Compiler ------------===//
//
// A context is a matc::Compiler plus options. Spec, MIX and output-file
// problems arrive as records through Compiler::setDiagnosticHandler; the
// rest of what the compiler prints (MLIR diagnostics with their locations,
// one-line driver errors, the summary) goes through a stream that turns
// each line into a record.
//
//===----------------------------------------------------------------------===//
#include "matc/matc.h"

#include "matc/Codegen/Compiler.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

struct Record {
  matc_severity severity = MATC_SEVERITY_ERROR;
  std::string file, field, message, text;
  int line = 0, column = 0;
  matc_diagnostic view{};
};

/// Turns what the compiler prints into records, a line at a time.
class RecordStream : public llvm::raw_ostream {
public:
  explicit RecordStream(std::function<void(const std::string &)> onLine)
      : onLine(std::move(onLine)) {
    SetUnbuffered();
  }
  ~RecordStream() override { flushLine(); }
  void flushLine() {
    if (!pending.empty())
      onLine(pending);
    pending.clear();
  }

private:
  void write_impl(const char *data, size_t size) override {
    for (size_t i = 0; i < size; ++i) {
      if (data[i] == '\n') {
        onLine(pending);
        pending.clear();
      } else {
        pending += data[i];
      }
    }
    position += size;
  }
  uint64_t current_pos() const override { return position; }

  std::function<void(const std::string &)> onLine;
  std::string pending;
  uint64_t position = 0;
};

bool startsWith(const std::string &text, const char *prefix) {
  return text.rfind(prefix, 0) == 0;
}

} // namespace

struct matc_context {
  matc::CompileOptions options;
  std::vector<std::unique_ptr<Record>> records;
  std::unique_ptr<RecordStream> stream;
  std::unique_ptr<matc::Compiler> compiler;
  bool lastLineWasRecord = false;

  matc_context() {
    stream = std::make_unique<RecordStream>(
        [this](const std::string &line) { addLine(line); });
    compiler = std::make_unique<matc::Compiler>(*stream);
    compiler->setDiagnosticHandler([this](const matc::spec::Diagnostic &d) {
      std::string file = d.source == "--mix" ? "mix" : d.source;
      std::string text = std::string(d.severity ==
                                             matc::spec::Diagnostic::Severity::Error
                                         ? "error: "
                                         : "warning: ") +
                         d.message;
      add(d.severity == matc::spec::Diagnostic::Severity::Error
              ? MATC_SEVERITY_ERROR
              : MATC_SEVERITY_WARNING,
          file, d.where, d.what, text);
    });
  }

  Record &add(matc_severity severity, std::string file, std::string field,
              std::string message, std::string text, int line = 0,
              int column = 0) {
    auto record = std::make_unique<Record>();
    record->severity = severity;
    record->file = std::move(file);
    record->field = std::move(field);
    record->message = std::move(message);
    record->text = std::move(text);
    record->line = line;
    record->column = column;
    records.push_back(std::move(record));
    refresh(*records.back());
    return *records.back();
  }

  static void refresh(Record &r) {
    r.view.severity = r.severity;
    r.view.file = r.file.c_str();
    r.view.field = r.field.c_str();
    r.view.message = r.message.c_str();
    r.view.text = r.text.c_str();
    r.view.line = r.line;
    r.view.column = r.column;
  }

  /// One printed line: "error: ...", "FILE:LINE:COL: error: ...", the
  /// summary "matc: ...", or the continuation of the record before it.
  void addLine(const std::string &line) {
    if (line.empty())
      return;
    struct Prefix {
      const char *text;
      matc_severity severity;
    };
    static const Prefix prefixes[] = {{"error: ", MATC_SEVERITY_ERROR},
                                      {"warning: ", MATC_SEVERITY_WARNING},
                                      {"note: ", MATC_SEVERITY_NOTE},
                                      {"remark: ", MATC_SEVERITY_NOTE}};
    for (const Prefix &prefix : prefixes) {
      if (startsWith(line, prefix.text)) {
        add(prefix.severity, options.specPath, "",
            line.substr(std::string(prefix.text).size()), line);
        return;
      }
      // FILE:LINE:COL: error: MESSAGE (MLIR's located diagnostics).
      std::string marker = std::string(": ") + prefix.text;
      size_t at = line.find(marker);
      if (at == std::string::npos)
        continue;
      std::string location = line.substr(0, at);
      size_t colonColumn = location.rfind(':');
      size_t colonLine = colonColumn == std::string::npos
                             ? std::string::npos
                             : location.rfind(':', colonColumn - 1);
      if (colonLine == std::string::npos)
        continue;
      std::string lineText = location.substr(colonLine + 1,
                                             colonColumn - colonLine - 1);
      std::string columnText = location.substr(colonColumn + 1);
      if (lineText.empty() || columnText.empty() ||
          lineText.find_first_not_of("0123456789") != std::string::npos ||
          columnText.find_first_not_of("0123456789") != std::string::npos)
        continue;
      add(prefix.severity, location.substr(0, colonLine), "",
          line.substr(at + marker.size()), line, std::stoi(lineText),
          std::stoi(columnText));
      return;
    }
    if (startsWith(line, "matc: ")) {
      add(MATC_SEVERITY_NOTE, options.specPath, "", line.substr(6), line);
      return;
    }
    // A continuation (a linker's log, a multi-line message).
    if (!records.empty()) {
      Record &last = *records.back();
      last.message += "\n" + line;
      last.text += "\n" + line;
      refresh(last);
      return;
    }
    add(MATC_SEVERITY_NOTE, "", "", line, line);
  }

  matc_status invalid(const std::string &option, const std::string &what) {
    add(MATC_SEVERITY_ERROR, option, "", what, "error: " + option + ": " + what);
    return MATC_ERROR_INVALID_ARGUMENT;
  }

  matc_status compile(const std::string &specPath,
                      std::optional<std::string> specText,
                      const char *outputPath) {
    records.clear();
    if (!outputPath || !*outputPath)
      return invalid("output_path", "null or empty");
    options.specPath = specPath;
    options.specText = std::move(specText);
    options.outputPath = outputPath;
    bool ok = compiler->compile(options);
    stream->flushLine();
    options.specText.reset();
    return ok ? MATC_OK : MATC_ERROR_COMPILE;
  }
};

extern "C" {

int matc_api_version(void) { return MATC_API_VERSION; }

const char *matc_version_string(void) {
  static const std::string text =
      "matc API " + std::to_string(MATC_API_VERSION_MAJOR) + "." +
      std::to_string(MATC_API_VERSION_MINOR) + ", LLVM " LLVM_VERSION_STRING;
  return text.c_str();
}

matc_context *matc_context_create(int api_version) {
  if (api_version / 100 != MATC_API_VERSION_MAJOR)
    return nullptr;
  return new matc_context();
}

void matc_context_free(matc_context *context) { delete context; }

matc_status matc_set_target(matc_context *context, matc_target target) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  switch (target) {
  case MATC_TARGET_CPU:
    context->options.target = matc::Target::Cpu;
    return MATC_OK;
  case MATC_TARGET_CUDA:
    context->options.target = matc::Target::Cuda;
    return MATC_OK;
  }
  return context->invalid("target", "unknown target " +
                                        std::to_string(int(target)));
}

matc_status matc_set_cpu(matc_context *context, const char *cpu) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  context->options.cpu = cpu ? cpu : "";
  return MATC_OK;
}

matc_status matc_set_mix(matc_context *context, const char *mix) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  context->options.elastic = false;
  if (mix)
    context->options.mix = mix;
  else
    context->options.mix.reset();
  return MATC_OK;
}

matc_status matc_set_elastic(matc_context *context, int elastic) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  context->options.elastic = elastic != 0;
  context->options.mix.reset();
  return MATC_OK;
}

matc_status matc_set_train(matc_context *context, int train) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  context->options.train = train != 0;
  return MATC_OK;
}

matc_status matc_set_dtype(matc_context *context, matc_dtype dtype) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  if (dtype != MATC_DTYPE_F32 && dtype != MATC_DTYPE_BF16)
    return context->invalid("dtype",
                            "unknown dtype " + std::to_string(int(dtype)));
  context->options.bf16Weights = dtype == MATC_DTYPE_BF16;
  return MATC_OK;
}

matc_status matc_set_emit(matc_context *context, matc_emit_kind emit) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  switch (emit) {
  case MATC_EMIT_EXE:
    context->options.emit = matc::EmitKind::Exe;
    return MATC_OK;
  case MATC_EMIT_LIB:
    context->options.emit = matc::EmitKind::Lib;
    return MATC_OK;
  case MATC_EMIT_OBJ:
    context->options.emit = matc::EmitKind::Obj;
    return MATC_OK;
  case MATC_EMIT_LLVM:
    context->options.emit = matc::EmitKind::Llvm;
    return MATC_OK;
  case MATC_EMIT_MLIR:
    context->options.emit = matc::EmitKind::Mlir;
    return MATC_OK;
  case MATC_EMIT_LINALG:
    context->options.emit = matc::EmitKind::Linalg;
    return MATC_OK;
  }
  return context->invalid("emit",
                          "unknown emit kind " + std::to_string(int(emit)));
}

matc_status matc_set_opt_level(matc_context *context, int level) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  if (level < 0 || level > 3)
    return context->invalid("opt_level", std::to_string(level) +
                                             " is outside [0, 3]");
  context->options.optLevel = static_cast<unsigned>(level);
  return MATC_OK;
}

matc_status matc_compile_file(matc_context *context, const char *spec_path,
                              const char *output_path) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  if (!spec_path || !*spec_path) {
    context->records.clear();
    return context->invalid("spec_path", "null or empty");
  }
  return context->compile(spec_path, std::nullopt, output_path);
}

matc_status matc_compile_json(matc_context *context, const char *spec_json,
                              const char *output_path) {
  if (!context)
    return MATC_ERROR_INVALID_ARGUMENT;
  if (!spec_json) {
    context->records.clear();
    return context->invalid("spec_json", "null");
  }
  return context->compile("<spec>", std::string(spec_json), output_path);
}

size_t matc_diagnostic_count(const matc_context *context) {
  return context ? context->records.size() : 0;
}

const matc_diagnostic *matc_diagnostic_get(const matc_context *context,
                                           size_t index) {
  if (!context || index >= context->records.size())
    return nullptr;
  return &context->records[index]->view;
}

size_t matc_error_count(const matc_context *context) {
  size_t count = 0;
  if (context)
    for (const auto &record : context->records)
      count += record->severity == MATC_SEVERITY_ERROR;
  return count;
}

void matc_diagnostics_clear(matc_context *context) {
  if (context)
    context->records.clear();
}

} // extern "C"
