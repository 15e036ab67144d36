/* commands.h — the skv subcommands; each takes the arguments after its name and returns an exit code. */
#ifndef SKV_COMMANDS_H
#define SKV_COMMANDS_H

int skv_cmd_plan(int argc, char **argv);
int skv_cmd_graph_bounds(int argc, char **argv);
int skv_cmd_layout(int argc, char **argv);
int skv_cmd_bench(int argc, char **argv);
int skv_cmd_run(int argc, char **argv);
int skv_cmd_calibrate(int argc, char **argv);
int skv_cmd_model_error(int argc, char **argv);
int skv_cmd_summary(int argc, char **argv);
int skv_cmd_compare(int argc, char **argv);
int skv_cmd_report(int argc, char **argv);
int skv_cmd_merge(int argc, char **argv);

#endif /* SKV_COMMANDS_H */
