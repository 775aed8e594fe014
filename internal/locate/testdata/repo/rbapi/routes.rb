Rails.application.routes.draw do
  get '/api/projects/:id', to: 'projects#show'
end
