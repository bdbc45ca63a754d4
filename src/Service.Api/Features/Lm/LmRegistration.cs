using Microsoft.Extensions.Options;
using Service.Api.Features.Models;
using Service.Api.Hosting;
using Service.Models.Lm;
using Service.Models.Registry;
using Service.Models.Runtime;

namespace Service.Api.Features.Lm;

public static class LmRegistration
{
    /// <summary>Registers the causal LMs under Lm:ModelDirectory with the model registry (call after <c>AddModels</c>).</summary>
    public static IHostApplicationBuilder AddLm(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<LmOptions>(LmOptions.Section);
        builder.Services.AddSingleton<IModelRegistration>(services => new CausalLmModels(services.GetRequiredService<IOptions<LmOptions>>().Value));
        return builder;
    }

    /// <summary>
    /// Whether Lm:ModelDirectory holds any model: the causal-LM routes are mapped only then, so a service without a
    /// trained LM does not offer routes that could only answer "unknown model".
    /// </summary>
    public static bool HasModels(LmOptions options) => ModelFolders(options).Any();

    /// <summary>One folder per model, holding both model.pt and lm.json.</summary>
    static IEnumerable<string> ModelFolders(LmOptions options)
    {
        var root = options.ResolvedModelDirectory;
        return Directory.Exists(root)
            ? Directory.GetDirectories(root).Order().Where(folder =>
                File.Exists(Path.Combine(folder, LmFile.WeightsName)) && File.Exists(Path.Combine(folder, LmFile.FileName)))
            : [];
    }

    sealed class CausalLmModels(LmOptions options) : IModelRegistration
    {
        public void Register(ModelRegistry registry)
        {
            foreach (var folder in ModelFolders(options))
            {
                var file = LmFile.Read(folder);
                var descriptor = new ModelDescriptor(Path.GetFileName(folder), CausalLmModel.Kind, file.Config.Width, file.Config.Window, ExecutionDevice.Cpu);
                registry.Register(descriptor, () => new CausalLmModel(descriptor, file, Path.Combine(folder, LmFile.WeightsName), options.QueueCapacity));
            }
        }
    }
}
