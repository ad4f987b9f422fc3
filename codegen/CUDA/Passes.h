//===- Passes.h - the NVIDIA GPU back end's passes --------------*- C++ -*-===//
#ifndef MATC_CUDA_PASSES_H
#define MATC_CUDA_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace matc::cuda {
#define GEN_PASS_DECL
#include "CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "CUDA/Passes.h.inc"
} // namespace matc::cuda

#endif
