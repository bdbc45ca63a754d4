using Microsoft.Extensions.Options;

namespace Service.Api.Hosting;

public static class OptionsExtensions
{
    /// <summary>Options bound from <paramref name="section"/>, checked by their data annotations when the host starts.</summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IHostApplicationBuilder builder, string section) where T : class =>
        builder.Services.AddOptions<T>()
            .Bind(builder.Configuration.GetSection(section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
}
