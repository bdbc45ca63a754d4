using Service.Models.Errors;

namespace Service.Models.Registry;

public enum ModelStatus { Loading, Ready, Failed }

/// <summary>What callers can know about a model before and after it loads.</summary>
public sealed record ModelDescriptor(string Name, string Kind, int Dimensions, int MaxTokens, string Device);

/// <summary>A model's descriptor, load status and, once failed, why.</summary>
public sealed record ModelState(ModelDescriptor Descriptor, ModelStatus Status, string? Error);

/// <summary>
/// Models by name. Each is registered with a loader and loaded once; endpoints ask for a model by name and
/// kind, so adding a model never touches an endpoint.
/// </summary>
public sealed class ModelRegistry(string defaultModel) : IDisposable
{
    readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);

    public string DefaultModel { get; } = defaultModel;

    public void Register(ModelDescriptor descriptor, Func<IDisposable> load)
    {
        if (!entries.TryAdd(descriptor.Name, new Entry(descriptor, load)))
            throw new InvalidOperationException($"Two models are named '{descriptor.Name}'; every model needs its own name.");
    }

    public IReadOnlyList<ModelState> List() =>
        entries.Values.Select(e => new ModelState(e.Descriptor, e.Status, e.Error)).ToArray();

    public bool AllReady => entries.Values.All(e => e.Status == ModelStatus.Ready);

    /// <summary>Loads every model that is not loaded yet; a failure marks that model failed and moves on.</summary>
    public IReadOnlyList<(string Name, Exception Error)> LoadAll()
    {
        var failures = new List<(string, Exception)>();
        foreach (var entry in entries.Values.Where(e => e.Status == ModelStatus.Loading))
        {
            try
            {
                entry.Instance = entry.Load();
                entry.Status = ModelStatus.Ready;
            }
            catch (Exception e)
            {
                entry.Error = e.Message;
                entry.Status = ModelStatus.Failed;
                failures.Add((entry.Descriptor.Name, e));
            }
            entry.Loaded.TrySetResult();
        }
        return failures;
    }

    /// <summary>Completes once the model has loaded or failed (at once for an unknown name), for work that needs it after start.</summary>
    public Task WhenLoaded(string name) => entries.TryGetValue(name, out var entry) ? entry.Loaded.Task : Task.CompletedTask;

    /// <summary>Names of the registered models of <paramref name="kind"/>, in registration order.</summary>
    public string[] Names(string kind) => entries.Values.Where(e => e.Descriptor.Kind == kind).Select(e => e.Descriptor.Name).ToArray();

    /// <summary>The loaded model called <paramref name="name"/> (the default when null), as <typeparamref name="T"/>.</summary>
    public T Get<T>(string? name, string kind) where T : class
    {
        name ??= DefaultModel;
        if (!entries.TryGetValue(name, out var entry))
        {
            throw new ServiceException(ServiceErrorKind.UnknownModel,
                $"Unknown model '{name}'. Use one of the {kind} models: {string.Join(", ", Names(kind))}.",
                new Dictionary<string, object?> { ["model"] = name, ["available"] = Names(kind) });
        }
        if (entry.Descriptor.Kind != kind)
        {
            throw new ServiceException(ServiceErrorKind.ValidationFailed,
                $"Model '{name}' is a {entry.Descriptor.Kind} model; this route needs a {kind} model: {string.Join(", ", Names(kind))}.",
                new Dictionary<string, object?> { ["field"] = "model", ["model"] = name, ["available"] = Names(kind) });
        }
        if (entry.Instance is T model)
            return model;
        return entry.Status switch
        {
            ModelStatus.Loading => throw new ServiceException(ServiceErrorKind.NotReady,
                $"Model '{name}' is still loading; it serves once its status is ready."),
            ModelStatus.Failed => throw new ServiceException(ServiceErrorKind.NotReady,
                $"Model '{name}' failed to load and cannot serve requests until the operator fixes it: {entry.Error}"),
            _ => throw new InvalidOperationException($"Model '{name}' is registered as {kind} but is a {entry.Instance?.GetType().Name}."),
        };
    }

    public void Dispose()
    {
        foreach (var entry in entries.Values)
            entry.Instance?.Dispose();
    }

    sealed class Entry(ModelDescriptor descriptor, Func<IDisposable> load)
    {
        public ModelDescriptor Descriptor { get; } = descriptor;
        public Func<IDisposable> Load { get; } = load;
        public volatile ModelStatus Status = ModelStatus.Loading;
        public volatile string? Error;
        public volatile IDisposable? Instance;
        public TaskCompletionSource Loaded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
