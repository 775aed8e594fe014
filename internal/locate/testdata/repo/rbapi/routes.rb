Rails.application.routes.draw do
  get '/api/projects/:id', to: 'projects#show'
end
Rails.application.routes.draw do
  get 'api/authors/:id', to: 'authors#show'
end
