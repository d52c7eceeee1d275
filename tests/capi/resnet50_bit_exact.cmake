# The C example's output on the light resnet50 must equal the Rust API's bit for bit.
# Skips (SKIPPED:) when the light model is not on this machine: the conformance step
# puts it in <cargo target dir>/onnx-tests/light/, and the onnx wheel in .venv ships it.
set(candidates "$ENV{RONN_RESNET50_MODEL}"
  "${CARGO_TARGET_DIR}/onnx-tests/light/light_resnet50.onnx"
  "${SOURCE_DIR}/target/onnx-tests/light/light_resnet50.onnx")
file(GLOB venv_model "${SOURCE_DIR}/.venv/lib/python*/site-packages/onnx/backend/test/data/light/light_resnet50.onnx")
list(APPEND candidates ${venv_model})
set(model "")
foreach(c IN LISTS candidates)
  if(NOT c STREQUAL "" AND EXISTS "${c}")
    set(model "${c}")
    break()
  endif()
endforeach()
if(model STREQUAL "")
  message("SKIPPED: light_resnet50.onnx not found (run the conformance step or scripts/setup-python.sh first)")
  return()
endif()
file(MAKE_DIRECTORY "${WORK_DIR}")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env CARGO_TARGET_DIR=${CARGO_TARGET_DIR}
          ${CARGO} run ${PROFILE_FLAG} --quiet -p ronn-capi --example capi_reference --
          "${model}" "${WORK_DIR}/input.npy" "${WORK_DIR}/rust.bin"
  WORKING_DIRECTORY "${SOURCE_DIR}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the Rust reference failed (${rc})")
endif()
execute_process(COMMAND "${EXAMPLE}" "${model}" "${WORK_DIR}/input.npy" "${WORK_DIR}/c.bin" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the C example failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${WORK_DIR}/rust.bin" "${WORK_DIR}/c.bin" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "C and Rust outputs differ on ${model}")
endif()
file(SIZE "${WORK_DIR}/c.bin" size)
message("resnet50: C and Rust outputs are identical (${size} bytes) for ${model}")
