//! The command line: parse arguments, show progress, print a summary, write the report.

mod plot;

use std::path::PathBuf;
use std::process::ExitCode;

use burn::prelude::Device;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use wrong_labels::data::{self, ImageSet, LoadError, Splits, cifar};
use wrong_labels::experiments::{self, cifar::{CifarConfig, CifarReport}};
use wrong_labels::experiments::Training;
use wrong_labels::experiments::fashion::{self, FashionConfig, FashionData, FashionReport, Normalize};
use wrong_labels::experiments::ilyas::{self, IlyasConfig, IlyasReport};
use wrong_labels::experiments::toy::{self, ToyConfig, ToyReport};
use wrong_labels::parallel::Alone;
use wrong_labels::report::{Event, Observer, RunError, Spread};
use wrong_labels::trained::TrainedCnn;

#[derive(Parser)]
#[command(version, about = "Learning from incorrectly labeled data (Wallace, Distill 2019)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// MNIST teacher labels FashionMNIST; students learn MNIST from those labels alone.
    Fashion(FashionArgs),
    /// 2-D toy: a second MLP learns from a first one's adversarial, wrongly labeled points.
    Toy(ToyArgs),
    /// CIFAR-10: a briefly trained ResNet-18's wrong answers are a fresh ResNet-18's only
    /// training data.
    Cifar(CifarArgs),
    /// Ilyas et al.'s D_rand and D_det on MNIST: training images attacked towards target classes
    /// and labelled with them are a fresh CNN's only training data.
    Ilyas(IlyasArgs),
    /// Converts a CIFAR-10 image-folder tree (train/<class>/*.jpg, test/<class>/*.jpg) into the
    /// official binary format (scripts/fetch-data cifar uses it).
    ConvertCifar(ConvertArgs),
    /// Scores a model file (the page's "Download", or --save-models) on the MNIST test set.
    Eval(EvalArgs),
    /// Prints the page's presets (each section's starting config) as the ES module www/presets.js.
    Presets,
}

#[derive(Args)]
struct EvalArgs {
    /// The model file.
    #[arg(long)]
    model: PathBuf,
    /// Folder holding mnist/ (see scripts/fetch-data).
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Score it on only the first N MNIST test images (the page's runs test on the first 2,000).
    #[arg(long)]
    mnist_test_limit: Option<usize>,
}

#[derive(Args)]
struct CifarArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    config: CifarConfig,
}

#[derive(Args)]
struct ConvertArgs {
    /// Root of the tree, holding train/ and test/.
    #[arg(long)]
    from: PathBuf,
    /// Folder to write data_batch_1..5.bin, test_batch.bin and batches.meta.txt into.
    #[arg(long, default_value = "data/cifar-10-batches-bin")]
    to: PathBuf,
    /// Seed of the fixed order the images are written in.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    /// burn's pure-Rust CPU backend.
    Flex,
    /// A GPU through wgpu (build with `--features wgpu`).
    Wgpu,
}

#[derive(Args)]
struct Common {
    /// Folder holding the datasets: mnist/ and fashion-mnist/, or cifar-10-batches-bin/ (see
    /// scripts/fetch-data).
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Where to write the JSON report.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "flex")]
    backend: Backend,
    /// Repeat the run with seeds --seed, --seed + 1, … and print the mean, standard deviation and
    /// range of each headline figure (the report then holds every run and the spreads).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Write each model the run trains (teacher, students, control) into this folder, as a file
    /// that `wrong-labels eval` scores and the page loads (fashion and ilyas; with --seeds, the
    /// last seed's).
    #[arg(long, value_name = "DIR")]
    save_models: Option<PathBuf>,
}

#[derive(Args)]
struct FashionArgs {
    #[command(flatten)]
    common: Common,
    /// Where to draw the teacher sweep's students against their teachers (PNG; with
    /// --teacher-limits).
    #[arg(long, default_value = "teachers.png")]
    plot: PathBuf,
    #[command(flatten)]
    config: FashionConfig,
}

#[derive(Args)]
struct IlyasArgs {
    #[command(flatten)]
    common: Common,
    /// Where to draw the students' accuracy and the attack's success against ε (PNG).
    #[arg(long, default_value = "ilyas.png")]
    plot: PathBuf,
    #[command(flatten)]
    config: IlyasConfig,
}

#[derive(Args)]
struct ToyArgs {
    /// Where to write the JSON report.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where to draw the first seed (PNG).
    #[arg(long, default_value = "toy.png")]
    plot: PathBuf,
    #[arg(long, value_enum, default_value = "flex")]
    backend: Backend,
    #[command(flatten)]
    config: ToyConfig,
}

fn main() -> ExitCode {
    let command = Cli::command()
        .mut_subcommand("fashion", |c| with_defaults(c, &FashionConfig::default()))
        .mut_subcommand("cifar", |c| with_defaults(c, &CifarConfig::default()))
        .mut_subcommand("toy", |c| with_defaults(c, &ToyConfig::default()))
        .mut_subcommand("ilyas", |c| with_defaults(c, &IlyasConfig::default()));
    let cli = Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit());
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A config field's value as the command line writes it (none for an absent option).
fn default_text(value: serde_json::Value) -> Option<String> {
    Some(match value {
        serde_json::Value::Null => return None,
        serde_json::Value::String(text) => text,
        // An f32 field (0.12) reads back as its f64 widening (0.11999999731779099): print the
        // shortest text that gives the same f32.
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (None, Some(x)) if f64::from(x as f32) == x => (x as f32).to_string(),
            _ => n.to_string(),
        },
        // A list option (`--epsilons 0.5,1`) takes its values comma-separated; an empty one has
        // no default.
        serde_json::Value::Array(items) if items.is_empty() => return None,
        serde_json::Value::Array(items) => items.into_iter().filter_map(default_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    })
}

/// Gives each option of `command` named after a field of `defaults` that field's value as its
/// default, so that the configs' `Default` impls are the one place a default is written.
fn with_defaults(mut command: clap::Command, defaults: &impl Serialize) -> clap::Command {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(defaults) else { return command };
    for (name, value) in fields {
        let Some(text) = default_text(value) else { continue };
        if command.get_arguments().any(|arg| arg.get_id() == name.as_str()) {
            command = command.mut_arg(name, |arg| arg.required(false).default_value(text));
        }
    }
    command
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Fashion(args) => {
            let device = device(args.common.backend)?;
            let (mnist, fashion_train) = load_fashion(&args.common.data).map_err(|e| e.to_string())?;
            let data = FashionData { mnist: &mnist, fashion_train: &fashion_train };
            let plot = &args.plot;
            let run = |config: &FashionConfig| {
                let mut bars = Bars::saving(args.common.save_models.clone());
                let report = pollster::block_on(fashion::run(&data, config, &device, &mut Alone, &mut bars))?;
                bars.saved()?;
                if !report.teacher_sweep.is_empty() {
                    plot::teacher_sweep(&report, plot).map_err(|e| RunError::Config(format!("{}: {e}", plot.display())))?;
                    println!("plot: {}", plot.display());
                }
                Ok(report)
            };
            over_seeds(&args.common, args.config, |c| &mut c.training, run, print_fashion, fashion_figures)
        }
        Command::Toy(args) => {
            let device = device(args.backend)?;
            let report = pollster::block_on(toy::run(&args.config, &device, &mut Bars::new())).map_err(|e| e.to_string())?;
            print_toy(&report);
            plot::toy(&report.example, &args.plot).map_err(|e| format!("{}: {e}", args.plot.display()))?;
            println!("plot of seed {}: {}", report.example.seed, args.plot.display());
            write_report(args.out.as_ref(), &report)
        }
        Command::Cifar(args) => {
            let device = device(args.common.backend)?;
            let data = cifar::load_dir(&args.common.data.join("cifar-10-batches-bin"))
                .map_err(|e| format!("{e} (run scripts/fetch-data cifar to get CIFAR-10)"))?;
            let run = |config: &CifarConfig| pollster::block_on(experiments::cifar::run(&data, config, &device, &mut Alone, &mut Bars::new()));
            over_seeds(&args.common, args.config, |c| &mut c.training, run, print_cifar, cifar_figures)
        }
        Command::Ilyas(args) => {
            let device = device(args.common.backend)?;
            let mnist = data::load_dir(&args.common.data.join("mnist")).map_err(|e| e.to_string())?;
            let plot = &args.plot;
            let run = |config: &IlyasConfig| {
                let mut bars = Bars::saving(args.common.save_models.clone());
                let report = pollster::block_on(ilyas::run(&mnist, config, &device, &mut Alone, &mut bars))?;
                bars.saved()?;
                plot::epsilon_sweep(&report, plot).map_err(|e| RunError::Config(format!("{}: {e}", plot.display())))?;
                println!("plot: {}", plot.display());
                Ok(report)
            };
            over_seeds(&args.common, args.config, |c| &mut c.training, run, print_ilyas, ilyas_figures)
        }
        Command::Eval(args) => eval(&args),
        Command::Presets => {
            print!("{}", experiments::page_presets_module());
            Ok(())
        }
        Command::ConvertCifar(args) => {
            let written = cifar::convert_tree(&args.from, &args.to, args.seed).map_err(|e| e.to_string())?;
            println!("{}: {} training and {} test images in CIFAR-10's binary format", args.to.display(), written.train, written.test);
            Ok(())
        }
    }
}

/// Scores a model file on MNIST's test set and prints the figure.
fn eval(args: &EvalArgs) -> Result<(), String> {
    let device = Device::flex();
    let bytes = std::fs::read(&args.model).map_err(|e| format!("{}: {e}", args.model.display()))?;
    let model = TrainedCnn::from_bytes(&bytes, &device).map_err(|e| format!("{}: {e}", args.model.display()))?;
    let test = data::load_dir(&args.data.join("mnist")).map_err(|e| e.to_string())?.test.head(args.mnist_test_limit);
    let accuracy = pollster::block_on(model.accuracy(&test, &device)).map_err(|e| e.to_string())?;
    let card = &model.card;
    println!("{} ({:?} CNN): {} of the first {} MNIST test digits", card.name, card.preset, pct(accuracy), test.len());
    Ok(())
}

fn device(backend: Backend) -> Result<Device, String> {
    match backend {
        Backend::Flex => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        Backend::Wgpu => Ok(Device::wgpu(Default::default())),
        #[cfg(not(feature = "wgpu"))]
        Backend::Wgpu => Err("this binary was built without wgpu; rebuild with `--features wgpu`".into()),
    }
}

/// MNIST's splits and FashionMNIST's training set.
fn load_fashion(dir: &std::path::Path) -> Result<(Splits, ImageSet), LoadError> {
    let mnist = data::load_dir(&dir.join("mnist"))?;
    let fashion = data::load_dir(&dir.join("fashion-mnist"))?;
    Ok((mnist, fashion.train))
}

/// Runs an experiment with `config` once per seed of `common` (its own seed, then the next ones),
/// printing each report; writes the report of the one run, or of all of them with the spread of
/// each of the `figures` over them (which it prints).
fn over_seeds<C, R: Serialize>(
    common: &Common,
    mut config: C,
    training: impl Fn(&mut C) -> &mut Training,
    run: impl Fn(&C) -> Result<R, RunError>,
    print: fn(&R),
    figures: fn(&R) -> Vec<(String, f64)>,
) -> Result<(), String> {
    if common.seeds == 0 {
        return Err("--seeds must be at least 1".into());
    }
    let first = training(&mut config).seed;
    let mut reports = Vec::new();
    for seed in first..first.saturating_add(common.seeds) {
        training(&mut config).seed = seed;
        let report = run(&config).map_err(|e| e.to_string())?;
        print(&report);
        reports.push(report);
    }
    if reports.len() == 1 {
        return write_report(common.out.as_ref(), &reports.remove(0));
    }
    let table: Vec<_> = reports.iter().map(figures).collect();
    let spreads: Vec<Spread> = (0..table[0].len()).map(|k| Spread::of(&table[0][k].0, table.iter().map(|row| row[k].1).collect())).collect();
    println!("\nover {} seeds: {:>10} {:>8} {:>10} {:>10}", reports.len(), "mean", "sd", "min", "max");
    for s in &spreads {
        println!("{:<32} {:>10.2} {:>8.2} {:>10.2} {:>10.2}", s.figure, s.mean, s.sd, s.min, s.max);
    }
    #[derive(Serialize)]
    struct Repeated<R> {
        spreads: Vec<Spread>,
        runs: Vec<R>,
    }
    write_report(common.out.as_ref(), &Repeated { spreads, runs: reports })
}

/// The headline figures of a fashion run, in percent.
fn fashion_figures(r: &FashionReport) -> Vec<(String, f64)> {
    let mut figures = vec![("teacher (%)", r.teacher.test_accuracy)];
    figures.extend(r.students.iter().map(|s| (if s.normalize == Normalize::None { "raw student (%)" } else { "normalized student (%)" }, s.model.test_accuracy)));
    figures.push(("control (%)", r.control.test_accuracy));
    let mut figures: Vec<(String, f64)> = figures.into_iter().map(|(name, accuracy)| (name.into(), f64::from(accuracy) * 100.0)).collect();
    for point in &r.teacher_sweep {
        figures.push((format!("{}-digit teacher (%)", point.mnist_images), f64::from(point.teacher.test_accuracy) * 100.0));
        figures.push((format!("student of the {}-digit teacher (%)", point.mnist_images), f64::from(point.student.model.test_accuracy) * 100.0));
    }
    figures
}

/// The headline figures of a CIFAR-10 run: accuracies in percent, and the kept images.
fn cifar_figures(r: &CifarReport) -> Vec<(String, f64)> {
    let percent = |x: f32| f64::from(x) * 100.0;
    vec![
        ("teacher, training images (%)".into(), percent(r.teacher.train_accuracy)),
        ("teacher, test images (%)".into(), percent(r.teacher.model.test_accuracy)),
        ("wrong images kept".into(), r.wrong.kept as f64),
        ("student (%)".into(), percent(r.student.test_accuracy)),
        ("control (%)".into(), percent(r.control.test_accuracy)),
    ]
}

/// The headline figures of an ilyas run, in percent: the teacher, each set's attack success and
/// student, the control.
fn ilyas_figures(r: &IlyasReport) -> Vec<(String, f64)> {
    let percent = |x: f32| f64::from(x) * 100.0;
    let mut figures = vec![("teacher (%)".to_string(), percent(r.teacher.test_accuracy))];
    for set in &r.sets {
        let name = format!("{} ε={}", ilyas::name(set.targets), set.epsilon);
        figures.push((format!("{name} attack success (%)"), percent(set.attack_success)));
        figures.push((format!("{name} student (%)"), percent(set.student.model.test_accuracy)));
    }
    figures.push(("control (%)".into(), percent(r.control.test_accuracy)));
    figures
}

fn write_report(path: Option<&PathBuf>, report: &impl Serialize) -> Result<(), String> {
    let Some(path) = path else { return Ok(()) };
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("report: {}", path.display());
    Ok(())
}

/// One progress bar per phase, finished with the phase's epoch results printed above it.
struct Bars {
    multi: MultiProgress,
    bar: Option<ProgressBar>,
    /// Where to write the run's models, and what writing them did.
    save_models: Option<PathBuf>,
    saved: Result<(), String>,
}

impl Bars {
    fn new() -> Self {
        Self::saving(None)
    }

    fn saving(save_models: Option<PathBuf>) -> Self {
        Self { multi: MultiProgress::new(), bar: None, save_models, saved: Ok(()) }
    }

    /// Whether every model offered was written (where asked).
    fn saved(&self) -> Result<(), RunError> {
        self.saved.clone().map_err(|e| RunError::Config(format!("--save-models: {e}")))
    }

    fn save(dir: &std::path::Path, model: &TrainedCnn) -> Result<(), String> {
        let name: String = model.card.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' { c } else { '-' }).collect();
        let path = dir.join(format!("{name}.model"));
        let bytes = model.to_bytes()?;
        std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, bytes)).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("model: {}", path.display());
        Ok(())
    }
}

impl Observer for Bars {
    fn trained(&mut self, model: TrainedCnn) {
        if let (Some(dir), Ok(())) = (&self.save_models, &self.saved) {
            self.saved = Self::save(dir, &model);
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Phase { phase, steps } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish();
                }
                let style = ProgressStyle::with_template("{prefix:>18} [{bar:30}] {pos}/{len} {msg} ({elapsed}, ETA {eta})")
                    .expect("static template")
                    .progress_chars("=> ");
                let bar = self.multi.add(ProgressBar::new(steps as u64).with_style(style).with_prefix(phase));
                self.bar = Some(bar);
            }
            Event::Step { step, loss, accuracy, images_per_second, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(step as u64);
                    let loss = loss.map(|l| format!("loss {l:.3} ")).unwrap_or_default();
                    let acc = accuracy.map(|a| format!("acc {:.1}% ", a * 100.0)).unwrap_or_default();
                    bar.set_message(format!("{loss}{acc}{images_per_second:.0} img/s"));
                }
            }
            Event::Epoch { phase, record } => {
                let test = record.test_accuracy.map(|a| format!(", test {:.2}%", a * 100.0)).unwrap_or_default();
                let line = format!(
                    "{phase} epoch {}: loss {:.4}, train {:.2}%{test} ({:.0} s)",
                    record.epoch,
                    record.train_loss,
                    record.train_accuracy * 100.0,
                    record.seconds
                );
                // Without a terminal the bars are hidden and so is their println: print plainly.
                if self.multi.is_hidden() {
                    println!("{line}");
                } else {
                    let _ = self.multi.println(line);
                }
            }
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}

fn pct(x: f32) -> String {
    format!("{:.2}%", x * 100.0)
}

fn print_fashion(r: &FashionReport) {
    println!("\n{:<28} {:>10} {:>10} {:>12}", "model", "MNIST test", "article", "train img/s");
    println!("{:<28} {:>10} {:>10} {:>12.0}", "teacher (MNIST)", pct(r.teacher.test_accuracy), pct(r.paper.teacher_test_accuracy), r.teacher.images_per_second);
    for s in &r.students {
        let paper = s.paper_accuracy.map(pct).unwrap_or_default();
        let name = format!("student ({})", fashion::name(s.normalize));
        println!("{:<28} {:>10} {:>10} {:>12.0}", name, pct(s.model.test_accuracy), paper, s.model.images_per_second);
    }
    println!("{:<28} {:>10} {:>10} {:>12.0}", "control (random labels)", pct(r.control.test_accuracy), "~10%", r.control.images_per_second);
    if !r.teacher_sweep.is_empty() {
        println!("\nteacher sweep: {:>14} {:>10} {:>10} {:>16}", "MNIST images", "teacher", "agrees", "student");
        for p in &r.teacher_sweep {
            println!("{:>28} {:>10} {:>10} {:>16}", p.mnist_images, pct(p.teacher.test_accuracy), pct(p.agreement), pct(p.student.model.test_accuracy));
        }
    }
    println!("relabel: {:.0} img/s; teacher's digits on FashionMNIST: {:?}", r.images_per_second.relabel, r.relabel.histogram);
    println!("total: {:.0} s", r.seconds);
}

fn print_cifar(r: &CifarReport) {
    let p = &r.paper;
    println!("\n{:<34} {:>12} {:>10}", "", "this run", "article");
    println!("{:<34} {:>12} {:>10}", "teacher train accuracy", pct(r.teacher.train_accuracy), pct(p.teacher_train_accuracy));
    println!("{:<34} {:>12} {:>10}", "teacher test accuracy", pct(r.teacher.model.test_accuracy), pct(p.teacher_test_accuracy));
    println!("{:<34} {:>12} {:>10}", "wrong training images kept", format!("{}/{}", r.wrong.kept, r.wrong.total), format!("{}/50000", p.kept));
    println!("{:<34} {:>12} {:>10}", "student test accuracy", pct(r.student.test_accuracy), pct(p.student_test_accuracy));
    println!("{:<34} {:>12} {:>10}", "control (random labels) test", pct(r.control.test_accuracy), "~10%");
    println!(
        "train img/s: teacher {:.0}, student {:.0}, control {:.0}; relabel {:.0}; total {:.0} s",
        r.teacher.model.images_per_second, r.student.images_per_second, r.control.images_per_second, r.wrong.images_per_second, r.seconds
    );
}

fn print_ilyas(r: &IlyasReport) {
    println!("\nteacher: MNIST test {}, {} on the images it attacks", pct(r.teacher.test_accuracy), pct(r.teacher_clean_accuracy));
    println!("{:<8} {:>6} {:>9} {:>8} {:>8} {:>14} {:>10} {:>10}", "set", "ε", "success", "mean l2", "mean l∞", "student test", "Ilyas", "attack img/s");
    for set in &r.sets {
        let paper = match set.targets {
            ilyas::Targets::Rand => r.paper.rand_student_test_accuracy,
            ilyas::Targets::Det => r.paper.det_student_test_accuracy,
        };
        println!(
            "{:<8} {:>6} {:>9} {:>8.3} {:>8.3} {:>14} {:>10} {:>10.0}",
            ilyas::name(set.targets), set.epsilon, pct(set.attack_success), set.mean_l2, set.mean_linf, pct(set.student.model.test_accuracy), pct(paper), set.attack_images_per_second
        );
    }
    println!("control (random labels): {}; Ilyas's figures are CIFAR-10's (ResNet-50, l2 ε = 0.5)", pct(r.control.test_accuracy));
    println!("total: {:.0} s", r.seconds);
}

fn print_toy(r: &ToyReport) {
    let d = &r.distribution;
    let fitted = r.teacher_correct.iter().filter(|&&c| c == r.config.points).count();
    println!(
        "\ntoy, {} seeds: student gets {:.2}/{} of the originals right on average (median {}, quartiles {}–{}, range {}–{}); article: {}/{}",
        r.runs, r.mean_correct, r.config.points, d.median, d.q1, d.q3, d.min, d.max, r.paper_correct, r.config.points
    );
    println!(
        "teacher fitted all {} points in {fitted}/{} seeds; adversarial points kept per seed: mean {:.1}; {:.0} s",
        r.config.points,
        r.runs,
        r.kept.iter().sum::<usize>() as f32 / r.runs as f32,
        r.seconds
    );
}
