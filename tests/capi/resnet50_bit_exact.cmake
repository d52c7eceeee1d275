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
# resnet50 (the required check) first, then the other light models beside it
# (resnet50's softmax output is nearly uniform on this input, so they add signal).
get_filename_component(light_dir "${model}" DIRECTORY)
file(GLOB others "${light_dir}/light_*.onnx")
# ... and the digits model, whose outputs (labels, probabilities) are far from uniform.
list(APPEND others "${SOURCE_DIR}/crates/ronn-cli/assets/digits.onnx")
list(REMOVE_ITEM others "${model}")
set(compared 0)
foreach(m IN LISTS model others)
  get_filename_component(name "${m}" NAME_WE)
  set(dir "${WORK_DIR}/${name}")
  file(MAKE_DIRECTORY "${dir}")
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env CARGO_TARGET_DIR=${CARGO_TARGET_DIR}
            ${CARGO} run ${PROFILE_FLAG} --quiet -p ronn-capi --example capi_reference --
            "${m}" "${dir}/input.npy" "${dir}/rust.bin"
    WORKING_DIRECTORY "${SOURCE_DIR}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the Rust reference failed on ${m} (${rc})")
  endif()
  execute_process(COMMAND "${EXAMPLE}" "${m}" "${dir}/input.npy" "${dir}/c.bin" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the C example failed on ${m} (${rc})")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${dir}/rust.bin" "${dir}/c.bin" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "C and Rust outputs differ on ${m}")
  endif()
  file(SIZE "${dir}/c.bin" size)
  message("${name}: C and Rust outputs are identical (${size} bytes)")
  math(EXPR compared "${compared} + 1")
endforeach()
message("bit-exact: ${compared} models, C API == Rust API")
