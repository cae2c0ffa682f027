# ortho-report's tests, included by tests/viewer/CMakeLists.txt.
# Check suites (labelled unit and viewer, so sanitizer builds run them too):
# the model against SQL run on the fixture databases, the what-if
# arithmetic, and the output building blocks (protobuf, JSON, units).
# End-to-end cases (report_cli.py, labelled integration): the real binary on
# the fixtures and on runs traced during the test, so not under
# ORTHO_SANITIZE (a sanitizer runtime cannot share a process with the
# preloaded allocator).
if(NOT TARGET ortho_report_format)
  return()
endif()

ortho_add_viewer_suite(check_report_model check_report_model.c ortho_report_format)
ortho_add_viewer_suite(check_report_whatif check_report_whatif.c ortho_report_format)
ortho_add_viewer_suite(check_report_output check_report_output.c ortho_report_format)

if(NOT ORTHO_SANITIZE)
  find_program(ORTHO_PYTHON3 python3)
  add_executable(report_leaky report_leaky.c)
  target_link_libraries(report_leaky PRIVATE ortho_flags)
  # -O1 -g: the leak sites must survive as frames with file and line.
  target_compile_options(report_leaky PRIVATE -O1 -g)
  find_package(Threads REQUIRED)
  add_executable(report_runtime report_runtime.c)
  target_link_libraries(report_runtime PRIVATE ortho_flags Threads::Threads)
  target_compile_options(report_runtime PRIVATE -O1 -g)
  set(REPORT_CLI_CASES
    text_numbers_equal_the_views
    json_numbers_equal_the_views
    the_summary_splits_allocations_by_the_function_called_and_an_older_file_has_no_split
    json_peak_is_exact_in_full_mode_and_bounded_otherwise
    each_section_option_prints_only_its_section
    fail_on_leaks_and_corruption_gate_a_ci_run
    runtime_allocations_are_suppressed_apart_and_pass_the_leak_gate
    a_suppressions_file_sets_apart_the_leaks_its_rules_match
    a_run_without_stacks_reports_but_refuses_stack_outputs
    svg_parses_as_xml_and_names_the_leaking_function
    folded_stacks_sum_to_the_database_and_start_at_the_root
    a_stack_20000_frames_deep_goes_through_every_stack_output
    pprof_decodes_with_totals_equal_to_the_database
    pprof_names_the_main_executable_in_its_first_mapping
    pprof_of_a_sampled_run_carries_the_estimates
    escape_sequences_in_names_are_shown_escaped_in_every_output
    json_is_strict_utf8_and_carries_its_schema_version
    diff_of_a_run_with_itself_is_empty
    diff_against_a_run_with_an_added_leak_shows_exactly_that_leak
    what_if_under_the_allocators_own_table_is_the_databases_waste
    suggested_classes_are_never_worse_than_the_current_table
    a_suggested_table_written_to_a_file_runs_again_with_less_waste
    a_flood_of_corruption_is_counted_exactly_and_listed_within_bounds
    bad_files_are_refused_with_one_line
    bad_options_are_refused_with_one_line)
  foreach(case IN LISTS REPORT_CLI_CASES)
    add_test(NAME report.${case}
      COMMAND ${ORTHO_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/report_cli.py ${case}
        --report $<TARGET_FILE:ortho-report> --fixtures ${ORTHO_FIXTURE_DB_DIR}
        --lib $<TARGET_FILE:orthotope> --workload $<TARGET_FILE:it_query_workload>
        --leaky $<TARGET_FILE:report_leaky> --runtime $<TARGET_FILE:report_runtime>
        --flood $<TARGET_FILE:it_trace_workload>)
    set_tests_properties(report.${case} PROPERTIES
      LABELS "integration;viewer"
      FIXTURES_REQUIRED trace_databases
      TIMEOUT 180)
    if(NOT ORTHO_PYTHON3)
      set_tests_properties(report.${case} PROPERTIES DISABLED ON)
    endif()
  endforeach()
endif()
