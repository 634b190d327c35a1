# `cmake --install build --prefix P`: the core libraries (base, event store, state machines,
# domain), their public headers, and a package config, so that another C++ program can
# find_package(certsched) and link certsched::eventstore or certsched::domain.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(certsched_public_libraries certsched_base certsched_eventstore certsched_statemachines certsched_domain)
foreach(lib ${certsched_public_libraries})
  string(REPLACE "certsched_" "" short ${lib})
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${short})
endforeach()
install(TARGETS ${certsched_public_libraries} EXPORT certschedTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})

# The headers of those folders, except those that say they are internal to their folder.
foreach(folder base eventstore statemachines domain)
  file(GLOB headers "${PROJECT_SOURCE_DIR}/${folder}/*.h")
  foreach(header ${headers})
    file(READ ${header} text LIMIT 600)
    if(NOT text MATCHES "[Ii]nternal to ")
      install(FILES ${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/certsched/${folder})
    endif()
  endforeach()
endforeach()

install(EXPORT certschedTargets NAMESPACE certsched:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/certsched)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/certschedConfig.cmake.in
  ${PROJECT_BINARY_DIR}/certschedConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/certsched)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/certschedConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/certschedConfig.cmake ${PROJECT_BINARY_DIR}/certschedConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/certsched)
