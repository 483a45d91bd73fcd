/* Embedded when the build found no ECharts (run scripts/web-setup.sh, then rebuild). */
window.JOBADS_NO_ECHARTS = "the chart library was not built into this binary: run scripts/web-setup.sh and rebuild";
