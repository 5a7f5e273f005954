# docs/plots/deploy_scale.svg from the figures of docs/performance.md,
# "Per-node start cost" (bench/cluster/run.sh, medians of 3 runs with
# min and max, series A at load 14-17 and B at load 9.5-14;
# bench/cluster_cp for 1,000 nodes' control plane):
#   gnuplot bench/cluster/deploy_scale.gp
# N  median  min  max   (seconds, deploy -> every edge proven)
$beforeA << EOD
10  3.18  2.27  3.32
50  11.18 10.89 11.61
100 21.77 16.43 22.48
EOD
$afterA << EOD
10  1.82  1.71  2.33
50  5.52  4.90  6.26
100 11.76 10.88 13.70
EOD
$beforeB << EOD
10  2.48  2.36  2.92
50  8.92  7.25  9.37
100 18.04 17.16 18.78
EOD
$afterB << EOD
10  2.05  1.58  2.37
50  4.85  4.00  8.41
100 9.87  8.71  12.02
EOD
# 1,000 nodes, control plane only (no data planes), median / min / max,
# at load 15-19 and at load 7.5-12
$cp << EOD
1000 25.04 20.89 31.44
1000 11.51 10.22 15.24
EOD
set terminal svg size 640,400 dynamic font "sans,11"
set output "docs/plots/deploy_scale.svg"
set title "sealnet deploy until every edge carried a sealed probe\n(netns, sim TEE, 2 shared vCPUs at load average 9.5-17)"
set xlabel "nodes"
set ylabel "seconds"
set logscale x
set xrange [7:1400]
set yrange [0:40]
set key inside left top Left reverse noenhanced font ",10"
set grid
set arrow from 7,10 to 1400,10 nohead dashtype 2 lc rgb "#aa0000"
set label "target: 10 s" at 300,8.5 tc rgb "#aa0000" font ",10"
plot $beforeA using 1:2:3:4 with yerrorlines lw 1 dt 2 pt 6 lc rgb "#9400d3" title "before (main b9d3536), load 14-17", \
     $afterA using 1:2:3:4 with yerrorlines lw 1 dt 2 pt 4 lc rgb "#009e73" title "after (startcost), load 14-17", \
     $beforeB using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb "#9400d3" title "before (main b9d3536), load 9.5-14", \
     $afterB using 1:2:3:4 with yerrorlines lw 2 pt 5 lc rgb "#009e73" title "after (startcost), load 9.5-14", \
     $cp using 1:2:3:4 with yerrorbars pt 9 ps 1.5 lc rgb "#56b4e9" title "control plane only, 1,000 nodes (bench/cluster_cp)"
