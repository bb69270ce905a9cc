# Finds Capstone (Debian: libcapstone-dev) and provides Capstone::Capstone.
find_path(Capstone_INCLUDE_DIR capstone/capstone.h)
find_library(Capstone_LIBRARY capstone)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Capstone
  REQUIRED_VARS Capstone_LIBRARY Capstone_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "run scripts/install-deps.sh (Debian package libcapstone-dev)")
if(Capstone_FOUND AND NOT TARGET Capstone::Capstone)
  add_library(Capstone::Capstone UNKNOWN IMPORTED)
  set_target_properties(Capstone::Capstone PROPERTIES IMPORTED_LOCATION ${Capstone_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${Capstone_INCLUDE_DIR})
endif()
