#include "launcher/job_script.h"

#include <cstdio>
#include <regex>

#include "core/error.h"
#include "launcher/collective_watchdog.h"
#include "launcher/slurm_template.h"

namespace dunet::launcher {

namespace fs = std::filesystem;

namespace {

void check(bool ok, const std::string& key, const std::string& value, const std::string& expected) {
  DUNET_CHECK(ok, ConfigError, "slurm.", key, " = '", value, "': expected ", expected);
}

void replace_all(std::string& text, const std::string& key, const std::string& value) {
  const std::string placeholder = "{{" + key + "}}";
  for (size_t at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
}

const std::regex kName(R"([A-Za-z0-9_.,+-]*)");

}  // namespace

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

void validate_slurm(const SlurmConfig& s) {
  check(std::regex_match(s.time, std::regex(R"((\d+-)?\d{1,2}(:\d{2}){0,2}|\d+)")), "time", s.time,
        "[D-]HH:MM:SS, HH:MM:SS, MM:SS or minutes, e.g. \"02:00:00\"");
  check(std::regex_match(s.partition, kName), "partition", s.partition,
        "a partition name (letters, digits, _ . , + -)");
  check(std::regex_match(s.account, kName), "account", s.account,
        "an account name (letters, digits, _ . , + -)");
  check(std::regex_match(s.qos, kName), "qos", s.qos, "a QOS name (letters, digits, _ . , + -)");
  for (const auto& line : s.extra_sbatch) {
    check(std::regex_match(line, std::regex(R"(--[a-z][a-z0-9-]*(=[A-Za-z0-9_.,:/@%+=-]+)?)")),
          "extra_sbatch", line,
          "options like \"--constraint=a100\" (no spaces, quotes or shell characters)");
  }
  for (const auto& line : s.setup) {
    check(line.find_first_of("\n\r") == std::string::npos && line.find('\0') == std::string::npos,
          "setup", line, "one shell command per entry, without line breaks");
  }
  check(s.restart_nodes <= s.nodes, "restart_nodes", std::to_string(s.restart_nodes),
        "at most slurm.nodes (" + std::to_string(s.nodes) + "), or 0 for that many");
  const int64_t tasks =
      s.tasks_per_node > 0 ? s.tasks_per_node : std::max<int64_t>(1, s.gpus_per_node);
  check(s.gpus_per_node == 0 || tasks == s.gpus_per_node, "tasks_per_node",
        std::to_string(s.tasks_per_node), "one task per GPU (= gpus_per_node)");
}

JobFiles job_files(const std::string& run_name, const fs::path& output_dir) {
  const fs::path out = fs::absolute(output_dir);
  return {out / "slurm" / (run_name + ".sbatch"), out / "slurm" / (run_name + ".toml"),
          out / "slurm-%j.out", out / "slurm" / (run_name + ".lost-node-requeues")};
}

std::string render_job_script(const SlurmConfig& s, const std::string& run_name,
                              const std::string& dunet, const JobFiles& files) {
  validate_slurm(s);
  const int64_t tasks =
      s.tasks_per_node > 0 ? s.tasks_per_node : std::max<int64_t>(1, s.gpus_per_node);
  std::string optional;
  const auto add = [&optional](const std::string& line) { optional += "#SBATCH " + line + "\n"; };
  if (s.gpus_per_node > 0) add("--gpus-per-node=" + std::to_string(s.gpus_per_node));
  if (!s.partition.empty()) add("--partition=" + s.partition);
  if (!s.account.empty()) add("--account=" + s.account);
  if (!s.qos.empty()) add("--qos=" + s.qos);
  if (s.requeue) add("--requeue");
  // A lost node must not end the job: its script requeues it on slurm.restart_nodes nodes.
  if (s.requeue && s.lost_node_requeues > 0) add("--no-kill");
  for (const auto& line : s.extra_sbatch) add(line);
  std::string setup;
  for (const auto& line : s.setup) setup += line + "\n";
  // One node: ranks talk through shared memory only; across nodes OpenMPI picks the network.
  const std::string mpi_env = s.nodes == 1 ? "export OMPI_MCA_btl=self,vader"
                                           : "# several nodes: OpenMPI chooses transports";

  std::string script(kSlurmTemplate);
  replace_all(script, "JOB_NAME", std::regex_match(run_name, kName) ? run_name : "dunet");
  replace_all(script, "NODES", std::to_string(s.nodes));
  const int64_t restart_nodes = s.restart_nodes > 0 ? s.restart_nodes : s.nodes;
  replace_all(script, "RESTART_NODES", std::to_string(restart_nodes));
  replace_all(script, "TASKS_PER_NODE", std::to_string(tasks));
  replace_all(script, "CPUS_PER_TASK", std::to_string(s.cpus_per_task));
  replace_all(script, "TIME", s.time);
  // #SBATCH lines cannot be quoted: paths there must be plain.
  const auto plain_path = [](const std::string& path, const std::string& what) {
    DUNET_CHECK(path.find_first_of(" \t'\"\n$`\\") == std::string::npos, ConfigError, what, " '",
                path, "' must not contain spaces, quotes or $ for an #SBATCH line");
    return path;
  };
  replace_all(script, "LOG", plain_path(files.log.string(), "run.output_dir"));
  replace_all(script, "CHDIR", plain_path(fs::current_path().string(), "the working folder"));
  replace_all(script, "SIGNAL_MARGIN", std::to_string(s.signal_margin_s));
  replace_all(script, "OPTIONAL_SBATCH", optional);
  replace_all(script, "SETUP", setup.empty() ? "# (none)" : setup);
  replace_all(script, "MPI_ENV", mpi_env);
  replace_all(script, "DUNET", shell_quote(dunet));
  replace_all(script, "CONFIG", shell_quote(files.config.string()));
  replace_all(script, "REQUEUE", s.requeue ? "1" : "0");
  replace_all(script, "COLLECTIVE_TIMED_OUT", std::to_string(kExitCollectiveTimedOut));
  replace_all(script, "LOST_NODE_REQUEUES", std::to_string(s.lost_node_requeues));
  replace_all(script, "LOST_COUNTER", shell_quote(files.lost_counter.string()));
  return script;
}

std::string submit_job(const fs::path& script) {
  const std::string command = "sbatch --parsable " + shell_quote(script.string()) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  DUNET_CHECK(pipe != nullptr, Error, "cannot run sbatch");
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  DUNET_CHECK(status == 0, Error, "sbatch refused '", script.string(),
              "': ", output.empty() ? "is SLURM installed and reachable?" : output);
  return output.substr(0, output.find(';'));  // "jobid[;cluster]"
}

}  // namespace dunet::launcher
