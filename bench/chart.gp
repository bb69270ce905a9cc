# bench/chart.gp: the `ringfold bench --chart` SVG. Reads ringfold-bench.sh's ratio table
# (tab-separated: a header of benchmark names, then one row per system with each figure's ratio
# to QEMU TCG, '-' where missing) and draws one bar group per system, log scale, 1 = QEMU TCG.
#   gnuplot -e "datafile='T'; outfile='F.svg'; ncols=N" bench/chart.gp
nbars = ncols - 1
set terminal svg size 1100,560 dynamic enhanced font "sans,12" background rgb "white"
set output outfile
set datafile separator "\t"
set datafile missing "-"
set title "ringfold bench: time per operation relative to QEMU TCG (below 1 = faster than QEMU TCG)"
set ylabel "ratio to QEMU TCG (log scale)"
set logscale y
set grid ytics mytics lc rgb "#dddddd"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.9 border rgb "#333333"
set boxwidth 1
set key off                 # each bar carries its benchmark name instead
set key autotitle columnheader    # line 1 is the header in every plot (keeps column(0) right)
set key off
set xtics nomirror font ",13"
set ytics nomirror
# Distinct colours for every benchmark: the default palette repeats after eight.
do for [i=1:nbars] {
    set linetype i lc rgb hsv2rgb((i - 1.0) / nbars, 0.65, 0.9)
}
# The QEMU TCG reference line.
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb "black" front
# Room above the tallest bar for its rotated name.
set offsets 0, 0, graph 0.25, 0
# Bar k (0-based) of row r of a clustered histogram with gap 1 is centred at
# r + (k - (nbars - 1) / 2) / (nbars + 1).
barx(r, k) = r + (k - (nbars - 1) / 2.0) / (nbars + 1)
plot for [i=2:ncols] datafile using i:xtic(1) lt (i - 1), \
     for [i=2:ncols] datafile using (barx(column(0), i - 2)):i:(columnheader(i)) \
         with labels rotate left offset 0, 0.4 font ",9" notitle
