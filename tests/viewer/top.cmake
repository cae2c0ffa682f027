# ortho-top's tests (included by tests/viewer/CMakeLists.txt). Unit suites
# of the model and the screens read the fixture databases and also run in
# sanitizer builds; the end-to-end scripts drive the real binary (batch
# output against sqlite3, and the interactive viewer in tmux on a finished
# and a live traced run), so they need the preloadable library and are not
# registered under ORTHO_SANITIZE.
ortho_add_viewer_suite(check_top_model check_top_model.c ortho_top_model)
ortho_add_viewer_suite(check_top_screens check_top_screens.c ortho_top_model)

if(NOT ORTHO_SANITIZE)
  find_program(ORTHO_BASH bash REQUIRED)
  # A program that allocates steadily for a few seconds: the live run.
  add_executable(top_workload top_workload.c)
  target_compile_options(top_workload PRIVATE -fno-builtin)
  target_link_libraries(top_workload PRIVATE ortho_flags)

  add_test(NAME integration.top_batch
    COMMAND ${ORTHO_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/top_batch.sh
      $<TARGET_FILE:ortho-top> ${ORTHO_FIXTURE_DB_DIR})
  set_tests_properties(integration.top_batch PROPERTIES
    FIXTURES_REQUIRED trace_databases LABELS "integration;viewer" TIMEOUT 120)

  foreach(case IN ITEMS replay live classes)
    add_test(NAME integration.top_tmux_${case}
      COMMAND ${ORTHO_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/top_tmux_${case}.sh
        $<TARGET_FILE:ortho-top> ${ORTHO_FIXTURE_DB_DIR} $<TARGET_FILE:orthotope>
        $<TARGET_FILE:top_workload>)
    set_tests_properties(integration.top_tmux_${case} PROPERTIES
      FIXTURES_REQUIRED trace_databases LABELS "integration;viewer" TIMEOUT 180
      SKIP_RETURN_CODE 77)
  endforeach()
endif()
