$V0 << EOD
7 0.847684
15 0.967291
19 0.970722
29 0.974511
31 0.976309
32 0.978958
33 0.980031
35 0.974796
38 0.977834
39 0.979324
43 0.976188
44 0.974265
45 0.976214
46 0.974575
47 0.977847
48 0.976672
49 0.972141
51 0.981082
53 0.981202
54 0.98178
55 0.979945
57 0.978474
58 0.978824
59 0.978785
60 0.978364
61 0.980349
62 0.978135
63 0.978155
EOD
$V1 << EOD
13 1.00962
20 1.00986
34 1.00912
EOD
$V2 << EOD
1 0.958655
2 0.944131
3 0.972187
4 0.964037
5 1.00722
6 1.00955
8 0.957847
9 0.977448
10 0.970149
11 0.968195
12 0.984686
14 0.999579
16 0.982785
17 0.978398
18 0.9755
21 0.980027
22 0.976972
23 0.995334
24 0.976572
25 0.983241
26 0.990676
27 1.01325
28 0.975746
30 0.987331
36 0.977926
37 0.978075
40 0.979426
41 0.979038
42 0.979949
50 0.98103
52 0.981334
56 0.981404
EOD
set title "B / A per configuration: A = 20261129-000348-2683fc2, B = 20261129-010407-4914340" noenhanced
set xlabel "configuration (in A's results.csv order; names in the table)"
set ylabel "B / A"
set logscale y 2
set grid
set key outside right top
set xrange [0:64]
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1200,600 font ",10"; set output "compare.png.tmp" } else { set terminal svg size 1200,600 dynamic font ",10"; set output "compare.svg.tmp" }
  plot 1 with lines lc rgb "black" title "B = A", 0.976647 with lines dt 2 lc rgb "#1f77b4" title "read ceilings A / B", $V0 using 1:2 with points pt 7 lc rgb "#2ca02c" title "faster", $V1 using 1:2 with points pt 7 lc rgb "#d62728" title "slower", $V2 using 1:2 with points pt 7 lc rgb "#7f7f7f" title "noise"
  set output
}
