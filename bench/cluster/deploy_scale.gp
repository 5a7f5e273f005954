# docs/plots/deploy_scale.svg from the figures of docs/performance.md,
# "Per-node start cost" (bench/cluster/run.sh, medians of 3 runs with
# min and max; bench/cluster_cp for 1,000 nodes' control plane):
#   gnuplot bench/cluster/deploy_scale.gp
# N  median  min  max   (seconds, deploy -> every edge proven)
$before << EOD
10  3.18  2.27  3.32
50  11.18 10.89 11.61
100 21.77 16.43 22.48
EOD
$after << EOD
10  1.82  1.71  2.33
50  5.52  4.90  6.26
100 11.76 10.88 13.70
EOD
# 1,000 nodes, control plane only (no data planes), median / min / max
$cp << EOD
1000 25.04 20.89 31.44
EOD
set terminal svg size 640,400 dynamic font "sans,11"
set output "docs/plots/deploy_scale.svg"
set title "sealnet deploy until every edge carried a sealed probe\n(netns, sim TEE, 2 shared vCPUs at load average 14-19)"
set xlabel "nodes"
set ylabel "seconds"
set logscale x
set xrange [7:1400]
set yrange [0:40]
set key inside left top Left reverse noenhanced font ",10"
set grid
set arrow from 7,10 to 1400,10 nohead dashtype 2 lc rgb "#aa0000"
set label "target: 10 s" at 300,8.5 tc rgb "#aa0000" font ",10"
plot $before using 1:2:3:4 with yerrorlines lw 2 pt 7 title "before (main, b9d3536)", \
     $after using 1:2:3:4 with yerrorlines lw 2 pt 5 title "after (branch startcost)", \
     $cp using 1:2:3:4 with yerrorbars pt 9 ps 1.5 title "control plane only, 1,000 nodes (bench/cluster_cp)"
