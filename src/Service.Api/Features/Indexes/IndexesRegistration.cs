using Service.Api.Hosting;

namespace Service.Api.Features.Indexes;

public static class IndexesRegistration
{
    /// <summary>The index catalog, its loader, build runner and editor, the worker that loads index files and runs builds, and the admin keys (call after <c>AddModels</c>).</summary>
    public static IHostApplicationBuilder AddIndexes(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<IndexesOptions>(IndexesOptions.Section);
        builder.AddValidatedOptions<AdminOptions>(AdminOptions.Section);
        builder.Services.AddSingleton<IndexCatalog>();
        builder.Services.AddSingleton(services => new IndexBuildJobStore(services.GetRequiredService<IndexCatalog>().Directory));
        builder.Services.AddSingleton<IndexLoader>();
        builder.Services.AddSingleton<IndexBuildRunner>();
        builder.Services.AddSingleton<IndexEditor>();
        builder.Services.AddHostedService<IndexWorker>();
        return builder;
    }
}
