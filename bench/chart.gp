# bench/chart.gp: the `ringfold bench --chart` SVG, up to three panels stacked: the
# nanobenchmarks (ns/op per system, log scale), the Linux workloads (seconds per system, log
# scale), and every figure's ratio to QEMU TCG (log scale, 1 = QEMU TCG). Each system keeps its
# colour in every panel; whiskers span the runs' min..max around the median bar.
# Run in the directory where bench-report.py --chart-dir wrote nano.tsv, linux.tsv, ratio.tsv
# and vars.gp (nanosys, linuxsys, ratiosys: the systems in each file; rationano, ratiolinux: how
# many of ratio.tsv's rows are nanobenchmarks and Linux workloads; subtitle):
#   gnuplot -e "outfile='/abs/chart.svg'" vars.gp /path/to/bench/chart.gp
haslinux = strlen(linuxsys) > 0
hasratio = strlen(ratiosys) > 0
hnano = 0.40
hlinux = haslinux ? 0.25 : 0
hratio = hasratio ? 0.35 : 0
htotal = hnano + hlinux + hratio
# SVG, or PNG (pngcairo) when outfile ends in .png.
if (strstrt(outfile, ".png") == strlen(outfile) - 3 && strlen(outfile) > 4) {
    set terminal pngcairo size 1200, int(1700 * htotal) enhanced font "sans,10" background rgb "white"
} else {
    set terminal svg size 1200, int(1700 * htotal) dynamic enhanced font "sans,12" background rgb "white"
}
set output outfile

# One colour per system, the same in every panel.
colour(s) = s eq "emu" ? "#1f77b4" : s eq "raw" ? "#ff7f0e" : s eq "kvm" ? "#2ca02c" : \
            s eq "qemu-tcg" ? "#9a9a9a" : s eq "qemu-kvm" ? "#4d4d4d" : s eq "native" ? "#9467bd" : "#d62728"

set datafile separator "\t"
set datafile missing "-"
set style data histogram
set style fill solid 0.9 border rgb "#333333"
set boxwidth 0.9
set logscale y
set format y "%g"
set grid ytics mytics lc rgb "#dddddd"
set xtics nomirror font ",12"
set ytics nomirror
set key top left horizontal font ",12" samplen 2
set key autotitle columnheader   # line 1 is a header in every file: read as such, never as a row
set offsets 0, 0, graph 0.12, 0
set autoscale yfixmax       # no empty decade above the tallest whisker; the offset leaves room for the key
set lmargin 10
set rmargin 4

set multiplot title "ringfold bench — ".subtitle font ",15"
top = 1.0 - 0.03 / htotal

# Panel 1: the nanobenchmarks, ns per operation.
h = hnano / htotal * (1.0 - 0.03 / htotal)
set size 1, h
set origin 0, top - h
top = top - h
set title "Nanobenchmarks: ns per operation (log scale; bar = median, whiskers = min..max of the runs)"
set ylabel "ns / op"
set style histogram errorbars gap 1 lw 1
n = words(nanosys)
plot for [i=1:n] "nano.tsv" using 3*i-1:3*i:3*i+1:xtic(1) title word(nanosys, i) lc rgb colour(word(nanosys, i))

# Panel 2: the Linux workloads, seconds.
if (haslinux) {
    h = hlinux / htotal * (1.0 - 0.03 / htotal)
    set size 1, h
    set origin 0, top - h
    top = top - h
    set title "Linux workloads: seconds (log scale; bar = median, whiskers = min..max; native has no boot)"
    set ylabel "seconds"
    n = words(linuxsys)
    plot for [i=1:n] "linux.tsv" using 3*i-1:3*i:3*i+1:xtic(1) title word(linuxsys, i) lc rgb colour(word(linuxsys, i))
}

# Panel 3: every figure relative to QEMU TCG, nanobenchmarks left of the line, Linux right.
if (hasratio) {
    h = hratio / htotal * (1.0 - 0.03 / htotal)
    set size 1, h
    set origin 0, top - h
    set title "Relative to QEMU TCG (log scale): below the dashed line = faster than QEMU TCG"
    set ylabel "time / QEMU TCG time"
    set style histogram clustered gap 1
    set xtics rotate by 30 right font ",11"
    set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb "black" back
    if (rationano > 0 && ratiolinux > 0) {
        set arrow 2 from first rationano - 0.5, graph 0 to first rationano - 0.5, graph 1 nohead lw 1 lc rgb "#555555" front
    }
    ratiolabel(v) = v >= 10 ? sprintf("%.0f", v) : sprintf("%.2g", v)
    n = words(ratiosys)
    plot for [i=1:n] "ratio.tsv" using i+1:xtic(1) title word(ratiosys, i) lc rgb colour(word(ratiosys, i)), \
         for [i=1:n] "ratio.tsv" using ($0 + (i - (n + 1) / 2.0) / (n + 1)):(column(i + 1)):(ratiolabel(column(i + 1))) \
             with labels rotate left offset 0, 0.3 font ",8" notitle
}
unset multiplot
