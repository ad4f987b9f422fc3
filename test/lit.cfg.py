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

# The CUDA target: `cuda-toolkit` when ptxas is there (PTX checks, cubin
# emission) and libmatrt_cuda.a was built (linking CUDA models); `cuda-device`
# when this machine also has an NVIDIA GPU (tests that run kernels).
import shutil

cuda_bin = os.environ.get("CUDA_PATH", "/usr/local/cuda")
ptxas = shutil.which("ptxas") or os.path.join(cuda_bin, "bin", "ptxas")
if os.access(ptxas, os.X_OK) and getattr(config, "matc_have_cuda_runtime", False):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", ptxas))
    config.substitutions.append(
        ("%cuda_arch", lit_config.params.get("cuda_arch", "sm_90")))
    if os.path.exists("/dev/nvidia0") or os.path.exists("/dev/nvidiactl"):
        config.available_features.add("cuda-device")
