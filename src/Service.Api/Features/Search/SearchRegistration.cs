using Service.Api.Hosting;

namespace Service.Api.Features.Search;

public static class SearchRegistration
{
    /// <summary>Search limits and defaults; searches run on the indexes of <c>AddIndexes</c>.</summary>
    public static IHostApplicationBuilder AddSearch(this IHostApplicationBuilder builder)
    {
        builder.AddValidatedOptions<SearchOptions>(SearchOptions.Section);
        return builder;
    }
}
