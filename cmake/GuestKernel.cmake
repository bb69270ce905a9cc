# Guest toolchain: builds tiny Multiboot test kernels (and their native 32-bit Linux
# twins) with the host gcc in -m32 freestanding mode, through custom commands so that
# none of the host build's flags (sanitizers, -D, link options) leak into them and none
# of these -m32 flags leak into the host build.
#
#   add_guest_kernel(NAME SOURCES src... [LINKER_SCRIPT file] [CFLAGS flag...])
#       -> ${CMAKE_BINARY_DIR}/tests/guests/NAME.elf, target guest_NAME
#   add_guest_native(NAME SOURCES src... [CFLAGS flag...])
#       -> ${CMAKE_BINARY_DIR}/tests/guests/NAME-native (runs on the host), target guest_NAME-native
#   add_guest_test(NAME KERNEL k [APPEND cmdline] [EXPECT_EXIT n] [GOLDEN file | NATIVE prog]
#                  [TIMEOUT s] [PAGED] [KVM_NEEDS_HW reason] [RAW_GAP reason])
#       -> ctest tests guest.<engine>.NAME for each engine in RINGFOLD_GUEST_ENGINES
#   PAGED: the kernel turns paging on (CR0.PG). KVM_NEEDS_HW: it runs unpaged but uses
#   something KVM's own instruction emulator does not implement (reason: what), so on KVM it
#   needs real VT-x/AMD-V, not the emulation KVM-PVM runs unpaged guests with. For the kvm and
#   raw engines run_guest_test.sh asks `ringfold probe --engine=E [--paged]` first and skips
#   (status 77, SKIP_RETURN_CODE) with the probe's reason when the engine cannot run the test.
#   RAW_GAP: a documented difference of the raw engine; the test runs on raw and is reported as
#   skipped with the reason only when the guest reports a failure (never a monitor error).
#
# Sources are relative to the calling directory. Library: tests/guests/lib (guest.h).
include_guard(GLOBAL)

set(RINGFOLD_GUEST_ENGINES "emu;raw;kvm" CACHE STRING
    "Engines the guest kernel tests run on (list; 'qemu' = check the tests themselves against QEMU TCG); \
raw and kvm tests skip with the probe's reason where the engine cannot run here")

set(GUEST_LIB_DIR ${PROJECT_SOURCE_DIR}/tests/guests/lib)
set(GUEST_OUT_DIR ${PROJECT_BINARY_DIR}/tests/guests)
set(GUEST_RUN_SCRIPT ${PROJECT_SOURCE_DIR}/tests/guests/run_guest_test.sh)
set(GUEST_CC ${CMAKE_C_COMPILER})

# Same code generation for guest and native builds of a test source: i686 baseline
# (cmov, no SSE/MMX), so an instruction test exercises the same instructions twice.
set(GUEST_CFLAGS_COMMON -m32 -march=i686 -mno-sse -mno-mmx -std=gnu17 -O2 -g
    -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables
    -fno-strict-aliasing ${RINGFOLD_WARNINGS})
set(GUEST_CFLAGS ${GUEST_CFLAGS_COMMON} -ffreestanding)
set(GUEST_LDFLAGS -m32 -nostdlib -static -no-pie -Wl,--build-id=none)
set(GUEST_NATIVE_LDFLAGS -m32 -static -no-pie)

# Compile one source into obj with the flags in the list variable flags_var.
function(_guest_compile src obj flags_var)
  get_filename_component(objdir ${obj} DIRECTORY)
  add_custom_command(OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${objdir}
    COMMAND ${GUEST_CC} ${${flags_var}} ${ARGN} -I${GUEST_LIB_DIR} -MD -MF ${obj}.d
            -c ${src} -o ${obj}
    DEPENDS ${src}
    DEPFILE ${obj}.d
    COMMENT "Guest CC ${src}"
    COMMAND_EXPAND_LISTS VERBATIM)
endfunction()

# Compile a list of sources; sets ${out_var} to the object paths.
function(_guest_compile_all out_var objdir flags_var)
  cmake_parse_arguments(GC "" "" "SOURCES;CFLAGS" ${ARGN})
  set(objs)
  foreach(src IN LISTS GC_SOURCES)
    get_filename_component(abs ${src} ABSOLUTE)
    get_filename_component(base ${src} NAME)
    set(obj ${objdir}/${base}.o)
    _guest_compile(${abs} ${obj} ${flags_var} ${GC_CFLAGS})
    list(APPEND objs ${obj})
  endforeach()
  set(${out_var} ${objs} PARENT_SCOPE)
endfunction()

# The library, once (called from tests/guests/CMakeLists.txt): every lib/*.c and *.S
# except start.S (linked first, explicitly) and native_*.c (native twin only).
function(guest_add_library)
  file(GLOB srcs CONFIGURE_DEPENDS ${GUEST_LIB_DIR}/*.c ${GUEST_LIB_DIR}/*.S)
  list(FILTER srcs EXCLUDE REGEX "/(start\\.S|native_[^/]*\\.c)$")
  set(objdir ${CMAKE_CURRENT_BINARY_DIR}/lib-obj)
  _guest_compile_all(objs ${objdir} GUEST_CFLAGS SOURCES ${srcs})
  _guest_compile(${GUEST_LIB_DIR}/start.S ${GUEST_OUT_DIR}/lib/start.o GUEST_CFLAGS)
  add_custom_command(OUTPUT ${GUEST_OUT_DIR}/lib/libguest.a
    COMMAND ${CMAKE_COMMAND} -E make_directory ${GUEST_OUT_DIR}/lib
    COMMAND ${CMAKE_COMMAND} -E rm -f ${GUEST_OUT_DIR}/lib/libguest.a
    COMMAND ${CMAKE_AR} qcs ${GUEST_OUT_DIR}/lib/libguest.a ${objs}
    DEPENDS ${objs}
    COMMENT "Guest AR libguest.a" VERBATIM)
  add_custom_target(guest_lib ALL
    DEPENDS ${GUEST_OUT_DIR}/lib/libguest.a ${GUEST_OUT_DIR}/lib/start.o)

  set(nobjdir ${CMAKE_CURRENT_BINARY_DIR}/lib-native-obj)
  _guest_compile_all(nobjs ${nobjdir} GUEST_CFLAGS_COMMON
    SOURCES ${GUEST_LIB_DIR}/format.c ${GUEST_LIB_DIR}/native_shim.c)
  add_custom_command(OUTPUT ${GUEST_OUT_DIR}/lib/libguest-native.a
    COMMAND ${CMAKE_COMMAND} -E make_directory ${GUEST_OUT_DIR}/lib
    COMMAND ${CMAKE_COMMAND} -E rm -f ${GUEST_OUT_DIR}/lib/libguest-native.a
    COMMAND ${CMAKE_AR} qcs ${GUEST_OUT_DIR}/lib/libguest-native.a ${nobjs}
    DEPENDS ${nobjs}
    COMMENT "Guest AR libguest-native.a" VERBATIM)
  add_custom_target(guest_lib_native ALL DEPENDS ${GUEST_OUT_DIR}/lib/libguest-native.a)
endfunction()

function(add_guest_kernel NAME)
  cmake_parse_arguments(GK "" "LINKER_SCRIPT" "SOURCES;CFLAGS" ${ARGN})
  if(NOT GK_SOURCES)
    message(FATAL_ERROR "add_guest_kernel(${NAME}): SOURCES is empty")
  endif()
  if(GK_LINKER_SCRIPT)
    get_filename_component(script ${GK_LINKER_SCRIPT} ABSOLUTE)
  else()
    set(script ${GUEST_LIB_DIR}/guest.ld)
  endif()
  _guest_compile_all(objs ${CMAKE_CURRENT_BINARY_DIR}/${NAME}-obj GUEST_CFLAGS
    SOURCES ${GK_SOURCES} CFLAGS ${GK_CFLAGS})
  set(elf ${GUEST_OUT_DIR}/${NAME}.elf)
  add_custom_command(OUTPUT ${elf}
    COMMAND ${GUEST_CC} ${GUEST_LDFLAGS} -Wl,-T,${script} -o ${elf}
            ${GUEST_OUT_DIR}/lib/start.o ${objs} ${GUEST_OUT_DIR}/lib/libguest.a -lgcc
    DEPENDS ${objs} ${script} ${GUEST_OUT_DIR}/lib/start.o ${GUEST_OUT_DIR}/lib/libguest.a
    COMMENT "Guest LD ${NAME}.elf"
    COMMAND_EXPAND_LISTS VERBATIM)
  add_custom_target(guest_${NAME} ALL DEPENDS ${elf})
  add_dependencies(guest_${NAME} guest_lib)
endfunction()

function(add_guest_native NAME)
  cmake_parse_arguments(GN "" "" "SOURCES;CFLAGS" ${ARGN})
  _guest_compile_all(objs ${CMAKE_CURRENT_BINARY_DIR}/${NAME}-native-obj GUEST_CFLAGS_COMMON
    SOURCES ${GN_SOURCES} CFLAGS -ffreestanding ${GN_CFLAGS})
  set(exe ${GUEST_OUT_DIR}/${NAME}-native)
  add_custom_command(OUTPUT ${exe}
    COMMAND ${GUEST_CC} ${GUEST_NATIVE_LDFLAGS} -o ${exe} ${objs}
            ${GUEST_OUT_DIR}/lib/libguest-native.a
    DEPENDS ${objs} ${GUEST_OUT_DIR}/lib/libguest-native.a
    COMMENT "Guest native LD ${NAME}-native"
    COMMAND_EXPAND_LISTS VERBATIM)
  add_custom_target(guest_${NAME}-native ALL DEPENDS ${exe})
  add_dependencies(guest_${NAME}-native guest_lib_native)
endfunction()

function(add_guest_test NAME)
  cmake_parse_arguments(GT "PAGED" "KERNEL;APPEND;EXPECT_EXIT;GOLDEN;NATIVE;TIMEOUT;KVM_NEEDS_HW;RAW_GAP" "" ${ARGN})
  if(NOT GT_KERNEL)
    message(FATAL_ERROR "add_guest_test(${NAME}): KERNEL is required")
  endif()
  if(GT_GOLDEN AND GT_NATIVE)
    message(FATAL_ERROR "add_guest_test(${NAME}): GOLDEN and NATIVE exclude each other")
  endif()
  if(NOT DEFINED GT_EXPECT_EXIT)
    set(GT_EXPECT_EXIT 33)               # guest_pass(): 0x10 -> (0x10 << 1) | 1
  endif()
  if(NOT GT_TIMEOUT)
    set(GT_TIMEOUT 60)
  endif()
  set(args --kernel ${GUEST_OUT_DIR}/${GT_KERNEL}.elf --expect-exit ${GT_EXPECT_EXIT})
  if(DEFINED GT_APPEND)
    list(APPEND args "--append=${GT_APPEND}")
  endif()
  if(GT_GOLDEN)
    get_filename_component(golden ${GT_GOLDEN} ABSOLUTE)
    list(APPEND args --golden ${golden})
  elseif(GT_NATIVE)
    list(APPEND args --native ${GUEST_OUT_DIR}/${GT_NATIVE}-native)
  endif()
  if(GT_PAGED)
    list(APPEND args --paged)
  endif()
  if(GT_KVM_NEEDS_HW)
    list(APPEND args "--kvm-needs-hw=${GT_KVM_NEEDS_HW}")
  endif()
  if(GT_RAW_GAP)
    list(APPEND args "--raw-gap=${GT_RAW_GAP}")
  endif()
  foreach(engine IN LISTS RINGFOLD_GUEST_ENGINES)
    # kvm on a KVM-PVM host runs unpaged guests through KVM's instruction emulator at about
    # 3 M instructions/s (ARCHITECTURE.md): insn_alu takes 100 s there (1 s on emu), so kvm
    # gets four times the time; with real VT-x/AMD-V it needs far less than emu.
    set(timeout ${GT_TIMEOUT})
    if(engine STREQUAL "kvm")
      math(EXPR timeout "${GT_TIMEOUT} * 4")
    endif()
    math(EXPR ctest_timeout "${timeout} + 30")
    add_test(NAME guest.${engine}.${NAME}
      COMMAND ${GUEST_RUN_SCRIPT} --ringfold $<TARGET_FILE:ringfold> --engine ${engine}
              --out ${GUEST_OUT_DIR}/out/${engine}/${NAME} ${args} --timeout ${timeout})
    set_tests_properties(guest.${engine}.${NAME} PROPERTIES
      TIMEOUT ${ctest_timeout} LABELS "guest;guest-${engine}" SKIP_RETURN_CODE 77)
  endforeach()
endfunction()
