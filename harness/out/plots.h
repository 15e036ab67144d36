/* plots.h — the plots of a run, drawn by gnuplot from its results.csv (PNG via pngcairo, and SVG). */
#ifndef SKV_PLOTS_H
#define SKV_PLOTS_H

#include <stdbool.h>
#include <stddef.h>

/* Names a suite may ask for. */
#define SKV_PLOT_NAMES "latency_vs_seqlen, bandwidth_fraction, predicted_vs_measured, error, splits_heuristic, quant_error, lse_layout"

/* Whether a gnuplot executable is on PATH. */
bool skv_gnuplot_available(void);
/* Run gnuplot on DIR/NAME.gp, which writes NAME.png and NAME.svg through the atomic suffix; both
 * renamed into place, or removed when gnuplot fails (then err says so and names DIR/NAME.log). */
bool skv_gnuplot_run(const char *dir, const char *name, char *err, size_t errlen);

/* Draw plots[0..nplots) into run_dir/plots/: NAME.gp (the script, rerunnable),
 * NAME.png and NAME.svg (written under temporary names and renamed), NAME.log
 * (gnuplot's messages). measured: a GPU run (else the predicted columns are
 * drawn, titled as predictions; model_read_tbps scales predicted bandwidth). */
bool skv_plots_make(const char *run_dir, const char (*plots)[32], int nplots, bool measured, double model_read_tbps,
                    char *err, size_t errlen);

#endif /* SKV_PLOTS_H */
