// pch_anchor.cc — the one source of the precompiled-header targets cimsim_pch_library and cimsim_pch_test
// (CMakeLists.txt, option CIMSIM_PCH): CMake compiles a target's precompiled header beside its sources,
// so each needs one. It defines nothing.
