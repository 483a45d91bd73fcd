# jobads_web: the HTTP server (civetweb, Debian's libcivetweb-dev), the JSON API,
# HTTP ingest, /metrics, and the dashboard's files embedded as byte arrays.
find_path(CIVETWEB_INCLUDE_DIR civetweb.h)
find_library(CIVETWEB_LIBRARY civetweb)
if(NOT CIVETWEB_INCLUDE_DIR OR NOT CIVETWEB_LIBRARY)
    message(FATAL_ERROR "civetweb not found: install libcivetweb-dev (scripts/bootstrap.sh)")
endif()

# The chart library comes from npm at the version the committed dashboard/package-lock.json
# pins. scripts/web-setup.sh (build.sh, demo.sh) puts it in dashboard/node_modules; a plain
# `cmake -S . -B build` without it runs the same `npm ci` into the build tree, from npm's
# cache when it has the packages, so the README's steps give a dashboard with charts.
# JOBADS_NO_CHARTS=ON is for a machine without npm: no fetch, and the page says what
# to run instead of drawing charts.
option(JOBADS_NO_CHARTS "build without fetching the chart library (the dashboard then has no charts)" OFF)
set(JOBADS_ECHARTS "${CMAKE_SOURCE_DIR}/dashboard/node_modules/echarts/dist/echarts.min.js"
    CACHE FILEPATH "echarts.min.js to embed in the dashboard")
set(ECHARTS_NPM_DIR "${CMAKE_BINARY_DIR}/web-npm")
set(ECHARTS_FETCHED "${ECHARTS_NPM_DIR}/node_modules/echarts/dist/echarts.min.js")
# a new lock file (another ECharts) configures again and fetches again
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/dashboard/package-lock.json")
if(EXISTS "${JOBADS_ECHARTS}")
    set(ECHARTS_FILE "${JOBADS_ECHARTS}")
elseif(JOBADS_NO_CHARTS)
    message(WARNING "ECharts not found at ${JOBADS_ECHARTS} and JOBADS_NO_CHARTS is ON: "
                    "the dashboard will have no charts (run scripts/web-setup.sh, then build again)")
    set(ECHARTS_FILE "${CMAKE_SOURCE_DIR}/dashboard/echarts-missing.js")
else()
    file(SHA256 "${CMAKE_SOURCE_DIR}/dashboard/package-lock.json" want_lock)
    set(have_lock "")
    if(EXISTS "${ECHARTS_FETCHED}" AND EXISTS "${ECHARTS_NPM_DIR}/package-lock.json")
        file(SHA256 "${ECHARTS_NPM_DIR}/package-lock.json" have_lock)
    endif()
    if(NOT have_lock STREQUAL want_lock)
        find_program(NPM_EXECUTABLE npm)
        if(NOT NPM_EXECUTABLE)
            message(FATAL_ERROR "the dashboard's chart library (ECharts) is not at ${JOBADS_ECHARTS} "
                                "and npm is not installed to fetch it: install npm (scripts/bootstrap.sh), "
                                "or configure with -DJOBADS_NO_CHARTS=ON for a dashboard without charts")
        endif()
        message(STATUS "Fetching ECharts by dashboard/package-lock.json (npm ci into ${ECHARTS_NPM_DIR})")
        file(MAKE_DIRECTORY "${ECHARTS_NPM_DIR}")
        file(COPY "${CMAKE_SOURCE_DIR}/dashboard/package.json" "${CMAKE_SOURCE_DIR}/dashboard/package-lock.json"
             DESTINATION "${ECHARTS_NPM_DIR}")
        execute_process(
            COMMAND "${NPM_EXECUTABLE}" ci --prefer-offline --no-audit --no-fund --loglevel=error
            WORKING_DIRECTORY "${ECHARTS_NPM_DIR}"
            RESULT_VARIABLE npm_rc
            OUTPUT_QUIET)
        if(NOT npm_rc EQUAL 0 OR NOT EXISTS "${ECHARTS_FETCHED}")
            # the copied lock is the stamp: drop it so that the next configure tries again
            file(REMOVE "${ECHARTS_NPM_DIR}/package-lock.json")
            message(FATAL_ERROR "npm ci of the dashboard's chart library failed (${npm_rc}) in "
                                "${ECHARTS_NPM_DIR}: its error is above; configure again when npm "
                                "can reach its registry, or with -DJOBADS_NO_CHARTS=ON for a "
                                "dashboard without charts")
        endif()
    endif()
    set(ECHARTS_FILE "${ECHARTS_FETCHED}")
endif()

set(WEB_FILES ${CMAKE_SOURCE_DIR}/dashboard/index.html ${CMAKE_SOURCE_DIR}/dashboard/app.js
              ${CMAKE_SOURCE_DIR}/dashboard/app.css ${ECHARTS_FILE})
set(WEB_NAMES web_index_html web_app_js web_app_css web_echarts_js)
string(REPLACE ";" "|" WEB_FILES_ARG "${WEB_FILES}")
string(REPLACE ";" "|" WEB_NAMES_ARG "${WEB_NAMES}")
add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/web_embed.c
    COMMAND ${CMAKE_COMMAND} -DOUT=${CMAKE_BINARY_DIR}/web_embed.c "-DNAMES=${WEB_NAMES_ARG}"
            "-DFILES=${WEB_FILES_ARG}" -P ${CMAKE_SOURCE_DIR}/cmake/embed_bin.cmake
    DEPENDS ${WEB_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed_bin.cmake
    COMMENT "Embedding the dashboard"
    VERBATIM)
set_source_files_properties(${CMAKE_BINARY_DIR}/web_embed.c PROPERTIES COMPILE_OPTIONS "-w")

# The pure parts (query parameters, request bodies) stand alone for the fuzz targets.
add_library(jobads_web_pure STATIC src/web/params.c src/web/body.c)
target_link_libraries(jobads_web_pure PUBLIC jobads_core)

add_library(jobads_web STATIC
    src/web/server.c
    src/web/reply.c
    src/web/pool.c
    src/web/metrics.c
    src/web/routes.c
    src/web/api.c
    src/web/api_time.c
    src/web/zone.c
    src/web/runs.c
    src/web/ingest.c
    src/web/assets.c
    src/web/cache.c
    src/web/campaigns.c
    ${CMAKE_BINARY_DIR}/web_embed.c)
target_include_directories(jobads_web PRIVATE ${CIVETWEB_INCLUDE_DIR})
target_link_libraries(jobads_web PUBLIC jobads_web_pure jobads_core ${CIVETWEB_LIBRARY})
