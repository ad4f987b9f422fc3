# `cmake --install` lays out a relocatable package:
#   bin/matc, bin/matc-opt
#   include/matc/matc.h, include/matrt/matrt.h
#   lib/libmatc.so (matc::compiler), lib/libmatrt.so (matc::runtime)
#   lib/libmatrt_{core,cli,main}.a, lib/libMatcSpec.a (what matc links
#     compiled models against; it finds them at ../lib from bin/matc)
#   lib/cmake/matc/matcConfig.cmake, matcConfigVersion.cmake
#   lib/pkgconfig/matrt.pc
# Every path in the config and the .pc file is relative to the file itself,
# so the installed tree can move.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
set(MATC_PACKAGE_VERSION 1.0.0)

# The installed binaries find LLVM's and MLIR's shared libraries where the
# build found them (Debian's /usr/lib/llvm-22/lib).
set_target_properties(matc matc-opt PROPERTIES
  INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR};${LLVM_LIBRARY_DIR}")
set_target_properties(matc_capi PROPERTIES
  INSTALL_RPATH "$ORIGIN;${LLVM_LIBRARY_DIR}")
install(TARGETS matc matc-opt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS matc_capi matrt_shared
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS matrt_core matrt matrt_main MatcSpec
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# What `matc compile --target cuda` links, when the toolkit was found.
if(TARGET matrt_cuda)
  install(TARGETS matrt_cuda ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
install(FILES ${PROJECT_SOURCE_DIR}/capi/include/matc/matc.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/matc)
install(FILES ${PROJECT_SOURCE_DIR}/runtime/include/matrt/matrt.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/matrt)

set(MATC_CONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/matc)
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/matcConfig.cmake.in
  ${CMAKE_BINARY_DIR}/package/matcConfig.cmake
  INSTALL_DESTINATION ${MATC_CONFIG_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(
  ${CMAKE_BINARY_DIR}/package/matcConfigVersion.cmake
  VERSION ${MATC_PACKAGE_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/package/matcConfig.cmake
              ${CMAKE_BINARY_DIR}/package/matcConfigVersion.cmake
  DESTINATION ${MATC_CONFIG_DIR})

# ${pcfiledir} keeps the .pc file relocatable.
file(RELATIVE_PATH MATC_PC_TO_PREFIX
  ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig
  ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" MATC_PC_TO_PREFIX "${MATC_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/matrt.pc.in
  ${CMAKE_BINARY_DIR}/package/matrt.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/package/matrt.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
