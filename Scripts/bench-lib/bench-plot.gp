# Throughput of workload (a) against concurrency, both servers, medians over the rounds.
# gnuplot -e "data='concurrency.dat'; out='bench-throughput.png'; ceiling=35000" bench-plot.gp
# (ceiling, the generator's own rate against its reflector, is optional: a dashed line).
# pngcairo is in Debian's gnuplot-nox; plain png (libgd) is the fallback.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 800,500 font "sans,10"
} else {
    set terminal png size 800,500
}
set output out
set termoption noenhanced
stats data using 1 nooutput
set xrange [STATS_min / 1.5 : STATS_max * 1.5]
set title "Second-factor-only TOTP on loopback (medians of alternating runs)"
set xlabel "concurrency (requests in flight)"
set ylabel "throughput (requests/s)"
set logscale x 2
set yrange [0:*]
set grid
set key top left
if (exists("ceiling") && ceiling > 0) {
    plot data using 1:2:xtic(1) with linespoints linewidth 2 pointtype 7 title "FreeRADIUS 3.2 (rlm_totp)", \
         data using 1:3 with linespoints linewidth 2 pointtype 5 title "Countersign", \
         ceiling with lines dashtype 2 linecolor rgb "gray40" title "generator ceiling (reflector)"
} else {
    plot data using 1:2:xtic(1) with linespoints linewidth 2 pointtype 7 title "FreeRADIUS 3.2 (rlm_totp)", \
         data using 1:3 with linespoints linewidth 2 pointtype 5 title "Countersign"
}
