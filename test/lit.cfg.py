# The matc lit suite: FileCheck tests over matc-opt and the matc driver.
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "matc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.matc_obj_root, "test")

config.substitutions.append(("%examples", os.path.join(config.matc_src_root, "examples")))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["matc", "matc-opt", "matc-reference", "matc-gradcheck", "matc-embed-example"], [config.matc_tools_dir])
