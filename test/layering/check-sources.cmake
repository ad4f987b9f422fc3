# cmake "-DDIRS=dir;dir..." -P this
# Fails if a C/C++ source or header under DIRS includes an LLVM or MLIR header
# (llvm/, llvm-c/, mlir/, mlir-c/), with "" or <>.
cmake_minimum_required(VERSION 3.20)
set(count 0)
foreach(dir IN LISTS DIRS)
  if(NOT IS_DIRECTORY "${dir}")
    message(SEND_ERROR "no directory ${dir}")
    continue()
  endif()
  file(GLOB_RECURSE files LIST_DIRECTORIES false
    "${dir}/*.h" "${dir}/*.hpp" "${dir}/*.hh" "${dir}/*.inc" "${dir}/*.def"
    "${dir}/*.c" "${dir}/*.cc" "${dir}/*.cpp" "${dir}/*.cxx")
  foreach(file IN LISTS files)
    math(EXPR count "${count} + 1")
    file(STRINGS "${file}" includes
      REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"][ \t]*(llvm|llvm-c|mlir|mlir-c)/")
    foreach(include IN LISTS includes)
      message(SEND_ERROR "${file}: ${include}")
    endforeach()
  endforeach()
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "no sources found under ${DIRS}")
endif()
message(STATUS "checked ${count} files for LLVM/MLIR includes")
